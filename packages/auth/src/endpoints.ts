/** Endpoint overrides of the storage backends, as given (a flag, a channel's configuration). */
export interface StorageEndpoints {
  gcs?: string | undefined
  s3?: string | undefined
  azureBlob?: string | undefined
  /** Compute Engine's REST root (default https://compute.googleapis.com). */
  gceCompute?: string | undefined
  /** GKE's REST root (default https://container.googleapis.com). */
  gkeContainer?: string | undefined
  /** DigitalOcean's API v2 root (default https://api.digitalocean.com/v2). */
  digitalocean?: string | undefined
  /** Hetzner Cloud's API root (default https://api.hetzner.cloud/v1). */
  hetzner?: string | undefined
  /** Scaleway's API root (default https://api.scaleway.com). */
  scaleway?: string | undefined
  /** The Linode API v4 root of Akamai Cloud (default https://api.linode.com/v4). */
  akamai?: string | undefined
}

/**
 * The one resolution of storage endpoints, used by every tool and every S3
 * path (storage URLs, ore's and plume's S3 staging): what was given, else the
 * variable the backend's own SDK knows. S3: `AWS_ENDPOINT_URL_S3`, then
 * `AWS_ENDPOINT_URL` (the AWS SDKs' order). GCS: `STORAGE_EMULATOR_HOST`,
 * which is often host:port, so a scheme is added. Azure's endpoint travels
 * inside `AZURE_STORAGE_CONNECTION_STRING`, which the Azure resolver reads.
 */
export function resolveEndpoints(given: StorageEndpoints, env: NodeJS.ProcessEnv): StorageEndpoints {
  const gcs = given.gcs ?? env.STORAGE_EMULATOR_HOST
  return {
    gcs: gcs ? withScheme(gcs) : undefined,
    s3: given.s3 ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
    azureBlob: given.azureBlob,
    // gcloud's own override variable, whose value ends in /compute/v1/ (the REST client adds that path itself).
    gceCompute: (given.gceCompute ?? env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE)?.replace(/\/compute\/v1\/?$/, '').replace(/\/+$/, ''),
    gkeContainer: (given.gkeContainer ?? env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER)?.replace(/\/v1\/?$/, '').replace(/\/+$/, ''),
    // doctl's and the Terraform provider's variable.
    digitalocean: given.digitalocean ?? env.DIGITALOCEAN_API_URL,
    // hcloud-go's and the hcloud CLI's variable.
    hetzner: given.hetzner ?? env.HCLOUD_ENDPOINT,
    // scaleway-sdk-go's and the scw CLI's variable.
    scaleway: given.scaleway ?? env.SCW_API_URL,
    // linodego's and linode-cli's variable (a host or a URL; the API version is added).
    akamai: linodeUrl(given.akamai ?? env.LINODE_URL),
  }
}

function withScheme(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`
}

/** LINODE_URL as linodego reads it: a host (api.linode.com) or a URL; the API root is <url>/v4. */
function linodeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined
  const base = withScheme(url).replace(/\/+$/, '')
  return /\/v4(beta)?$/.test(base) ? base : `${base}/v4`
}
