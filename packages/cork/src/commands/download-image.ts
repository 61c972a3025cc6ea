import {storageFlags} from '@mantle/auth'
import {BaseCommand, Flags} from '@mantle/kit'

import {downloadImagesFrom, fetcherFrom, imageLayoutFrom, layoutFlags, sourceFlags} from '../options.js'
import {downloadImages, imageRoot, PLATFORMS, type DownloadedImage} from '../services/download-image.js'

export default class DownloadImage extends BaseCommand<typeof DownloadImage> {
  static override summary = 'Download OS images for the given platforms into .cache/images, verified against their signatures.'
  static override description = `Files per platform, after --image-prefix: aws _ami_vmdk_image.vmdk.bz2; esx _vmware_ova.ova; gce _gce.tar.gz; qemu _qemu_image.img.bz2; qemu_uefi _qemu_uefi_efi_code.fd, _qemu_uefi_efi_vars.fd, _qemu_uefi_image.img.bz2. Each must verify against its .sig unless --no-verify. --root is the images' base URL, as in the original (--image-root is the same flag); the checkout, whose versions and board name the files, is the one around the current directory.`
  static override examples = [
    '<%= config.bin %> download-image --platform qemu',
    '<%= config.bin %> download-image --platform qemu_uefi,gce --verify-key flatcar.asc',
    '<%= config.bin %> download-image --root stable --platform qemu',
    '<%= config.bin %> download-image --root gs://builds/boards/amd64-usr/3033.2.0 --json-key key.json --platform aws --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...layoutFlags,
    root: Flags.string({
      summary:
        "Base URL of the images: any storage URL, or alpha, beta, stable or lts for that Flatcar channel's current release (default: the publisher's for the OS version).",
      aliases: ['image-root'],
    }),
    'cache-dir': Flags.string({
      summary: 'Where images go (default: <root>/.cache/images); files land in <cache-dir>/<arch>/<os version>/.',
    }),
    'image-prefix': Flags.string({summary: 'Image file name prefix (default: <name>_production).'}),
    platform: Flags.string({
      summary: 'Platform whose image to download (repeatable, or comma-separated).',
      options: PLATFORMS,
      multiple: true,
      delimiter: ',',
      required: true,
    }),
    verify: Flags.boolean({summary: 'Verify each file against its detached signature.', default: true, allowNo: true}),
    'verify-key': sourceFlags['verify-key'],
    ...storageFlags,
  }

  async run(): Promise<DownloadedImage[]> {
    const {flags, context} = this
    const layout = await imageLayoutFrom(flags, context.cwd)
    const root = imageRoot(flags.root, layout)
    if (!flags.verify) this.logger.warn('--no-verify: the images are not checked against their signatures')
    const results = await downloadImages(downloadImagesFrom(flags, layout, root, await fetcherFrom(root, flags, context), context))
    for (const r of results) this.log(r.path)
    return results
  }
}
