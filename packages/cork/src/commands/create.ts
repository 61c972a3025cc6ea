import {BaseCommand} from '@mantle/kit'

import {creationFlags, creationFrom, layoutFrom} from '../options.js'
import {createSdk, type CreateResult} from '../services/create.js'

export default class Create extends BaseCommand<typeof Create> {
  static override summary =
    'Create the SDK container of a checkout: download and verify the SDK, import it as an image, create the container.'
  static override description = `The SDK version comes from .repo/manifests/version.txt (or --sdk-version). The tarball <name>-sdk-<arch>-<version>.tar.bz2 is downloaded from <sdk-url>/<sdk-url-path>/<arch>/<version>/ into <root>/.cache/sdks/ and must verify against its detached .sig before anything is imported. The image is tagged <name>-sdk-<arch>:<version>; the container, <name>-sdk-<arch>-<sdk version>_os-<os version>, mounts the checkout at /mnt/host/source and the build directory at /mnt/host/source/src/build, and runs every process as your uid/gid, so files created inside are yours outside. An existing container for the same versions is reused; --replace recreates it. --chroot NAME names the container NAME instead (enter, update and delete then take the same --chroot). With --manifest-url, cork then runs repo init -u URL -b <manifest-branch> -m <manifest-name> and repo sync inside the container, as you, in /mnt/host/source (the original did so in its chroot); --verify-signature checks the manifest tag with git verify-tag between the two. A failed step is named in a one-line error: exit 3 for repo, 1 for the signature.`
  static override examples = [
    '<%= config.bin %> create',
    '<%= config.bin %> create --sdk-version 3033.0.0 --verify-key flatcar.asc',
    '<%= config.bin %> create --sdk-url file:///srv/mirror --sdk-url-path sdk --replace',
    '<%= config.bin %> create --chroot my-sdk --use-host-dns',
    '<%= config.bin %> create --manifest-url https://github.com/flatcar/manifest.git --manifest-branch refs/tags/v3033.2.0 --verify-signature',
    'DOCKER_HOST=unix:///run/podman/podman.sock <%= config.bin %> create --json',
  ]
  static override enableJsonFlag = true
  static override flags = creationFlags

  async run(): Promise<CreateResult> {
    const {flags, context} = this
    const result = await createSdk(await creationFrom(flags, await layoutFrom(flags, context.cwd), context))
    this.log(result.container)
    return result
  }
}
