/** The status and headers (names in lower case) of an HTTP/1.x response, and the bytes after its head. */
export interface HttpHead {
  status: number
  headers: Map<string, string>
  /** What arrived after the blank line: the start of the body, or of a hijacked stream. */
  rest: Buffer
}

const HEAD_END = Buffer.from('\r\n\r\n')
const MAX_HEAD_BYTES = 64 * 1024

/**
 * The head of the response `received` starts with, once it holds all of it;
 * undefined while more is due. For clients that read their own sockets (cork's
 * engine API, the storage kit's ranged GET). Throws when it is not HTTP/1.x or
 * grows past 64 KiB without ending.
 */
export function takeHttpHead(received: Buffer): HttpHead | undefined {
  const end = received.indexOf(HEAD_END)
  if (end === -1) {
    if (received.length > MAX_HEAD_BYTES) throw new Error(`an HTTP response head over ${MAX_HEAD_BYTES} bytes`)
    return undefined
  }
  const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify((statusLine ?? '').slice(0, 80))}`)
  const headers = new Map<string, string>()
  for (const line of lines) {
    const i = line.indexOf(':')
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim())
  }
  return {status: Number(m[1]), headers, rest: received.subarray(end + HEAD_END.length)}
}
