import {isStorageError, type Bucket} from '@mantle/kit'

/** A small text object (version.txt, an AMI list), or undefined when it does not exist. */
export async function readText(bucket: Bucket, key: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const {body} = await bucket.read(key, signal ? {signal} : {})
    const chunks: Buffer[] = []
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk)
    return Buffer.concat(chunks).toString('utf8')
  } catch (error) {
    if (isStorageError(error, 'not-found')) return undefined
    throw error
  }
}
