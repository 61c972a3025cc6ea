/**
 * What cork needs from a signed download: the file at `url`, checked against
 * its detached signature `<url>.sig` by one of `keys` (or the user's keyring
 * when none are given), left at `dest` only when it verifies. The one
 * implementation lives in the kit (see ./kit-fetcher.ts); cork codes against
 * this narrow interface so that its services and tests do not depend on the
 * kit's wider download API.
 */
export interface FetchRequest {
  /** Any storage URL the kit opens (https, gs, s3, az, file or a plain path). */
  url: string
  /** The final path of the file. */
  dest: string
  /** Key files (--verify-key); empty means the embedded keys plus the user's keyring. */
  keys: readonly string[]
  /** False downloads without a signature check (download-image --no-verify, the user's explicit choice); the SDK is always verified. */
  verify?: boolean | undefined
  signal?: AbortSignal | undefined
}

export interface FetchResult {
  path: string
  sha256: string
  /** Fingerprint of the primary key that signed the file; undefined only when verify was false. */
  signer: string | undefined
  bytes: number
  /** True when a file already at `dest` verified and nothing was downloaded. */
  cached: boolean
}

export interface SdkFetcher {
  /** Throws a CheckFailedError (exit 1) when the signature does not verify; nothing is then left at `dest`. */
  fetch(request: FetchRequest): Promise<FetchResult>
}
