import {randomBytes} from 'node:crypto'

import {
  loadProfile,
  ociAuth,
  stackitAuth,
  type ProfileCredentials,
  resolveAws,
  resolveAzure,
  resolveEndpoints,
  resolveGce,
} from '@mantle/auth'
import {type CommandContext, Flags, type Logger, UsageError} from '@mantle/kit'

import {defaultDistro, DISTRO_NAMES, distroByName} from './platform/distro.js'
import type {CommonFlightOptions} from './platform/platform.js'
import type {AwsPlatformOptions} from './platform/aws/index.js'
import type {AzurePlatformOptions} from './platform/azure/index.js'
import type {BrightboxPlatformOptions} from './platform/brightbox/index.js'
import type {OciPlatformOptions} from './platform/oci/index.js'
import type {StackitPlatformOptions} from './platform/stackit/index.js'
import type {DoPlatformOptions} from './platform/do/index.js'
import type {ExternalOptions} from './platform/external/index.js'
import type {AkamaiPlatformOptions} from './platform/akamai/index.js'
import type {GcpPlatformOptions} from './platform/gcp/index.js'
import type {ScalewayPlatformOptions} from './platform/scaleway/index.js'
import type {EsxPlatformOptions} from './platform/esx/index.js'
import {type EsxStaticIps, ipv4ToNumber} from './platform/esx/static-ips.js'
import type {OpenStackPlatformOptions} from './platform/openstack/index.js'
import type {HetznerPlatformOptions} from './platform/hetzner/index.js'
import type {QemuOptions} from './platform/qemu/index.js'
import type {PlatformOptions} from './platform/registry.js'
import {parseSharding, type Sharding} from './register/select.js'
import type {KeepMode} from './services/schedule.js'

// All of kola's flag -> option mapping lives here: commands parse, services take options.

/** Flags of every command that boots machines: the platform, the distro, and each platform's own. */
export const platformFlags = {
  platform: Flags.string({
    char: 'p',
    default: 'qemu',
    summary:
      'Platform to boot machines on: qemu, external, aws, azure, gcp (gce), do, openstack, esx, hetzner, scaleway, akamai, oci (oraclecloud), stackit, brightbox (and those of --platform-module).',
    helpGroup: 'PLATFORM',
  }),
  distro: Flags.option({
    char: 'b',
    options: [...DISTRO_NAMES, 'cl'] as const,
    summary:
      "Distribution of the image: flatcar (cl), fcos or test (our Debian test image); default told from the image's file name, else test.",
    helpGroup: 'PLATFORM',
  })(),
  'platform-module': Flags.string({
    multiple: true,
    summary: 'Also load platforms from this module (exporting `platform` or `platforms`).',
    helpGroup: 'PLATFORM',
  }),
  'ssh-timeout': Flags.integer({
    default: 300,
    min: 1,
    summary: 'Seconds a machine has to answer SSH after it starts.',
    helpGroup: 'PLATFORM',
  }),
  'qemu-image': Flags.string({
    summary: 'Disk image (raw or qcow2) machines boot overlays of. Default: $KOLA_TEST_IMAGE.',
    helpGroup: 'QEMU',
  }),
  'qemu-kernel': Flags.string({
    summary:
      'Kernel for direct boot (vmlinux or bzImage). Default: $KOLA_TEST_KERNEL with the test image; none with --qemu-image (the disk boots through its own boot loader).',
    helpGroup: 'QEMU',
  }),
  'qemu-initrd': Flags.string({summary: 'Initramfs for direct boot. Default: $KOLA_TEST_INITRD.', helpGroup: 'QEMU'}),
  'qemu-append': Flags.string({summary: 'Kernel command line for direct boot.', helpGroup: 'QEMU'}),
  'qemu-firmware': Flags.string({
    aliases: ['qemu-bios'],
    summary: "Firmware: bios (SeaBIOS, default), uefi, uefi-secure (OVMF from Debian's ovmf), or a firmware file.",
    helpGroup: 'QEMU',
  }),
  'qemu-accel': Flags.option({
    options: ['auto', 'kvm', 'tcg'] as const,
    default: 'auto' as const,
    summary: 'Accelerator: auto picks KVM only when /dev/kvm works and the CPU has vmx/svm.',
    helpGroup: 'QEMU',
  })(),
  'qemu-memory': Flags.integer({default: 1024, min: 256, summary: 'Memory per machine, in MiB.', helpGroup: 'QEMU'}),
  'qemu-cpus': Flags.integer({default: 1, min: 1, summary: 'Virtual CPUs per machine.', helpGroup: 'QEMU'}),
  'qemu-binary': Flags.string({summary: 'QEMU binary (default qemu-system-x86_64 on PATH).', helpGroup: 'QEMU'}),
  'qemu-options': Flags.string({summary: 'Extra QEMU arguments, space separated.', helpGroup: 'QEMU'}),
  'external-provisioning-cmds': Flags.string({
    summary:
      'Shell commands that provision a machine: USERDATA and USERDATA_FILE hold its Ignition config; the last line they print is its address (IP, IP:PORT or [IPv6]:PORT, optionally a private IP after it).',
    helpGroup: 'EXTERNAL',
  }),
  'external-serial-console-cmd': Flags.string({
    summary: "Shell command printing a machine's serial console while it runs (IPADDR set); saved as console.txt.",
    helpGroup: 'EXTERNAL',
  }),
  'external-deprovisioning-cmds': Flags.string({
    summary: 'Shell commands that remove a machine (IPADDR, KOLA_MACHINE_ID set).',
    helpGroup: 'EXTERNAL',
  }),
  'aws-region': Flags.string({default: 'us-east-1', summary: 'AWS region.', helpGroup: 'AWS'}),
  'aws-profile': Flags.string({summary: 'AWS profile in the shared credentials/config files (default: "default").', helpGroup: 'AWS'}),
  'aws-credentials-file': Flags.string({summary: 'AWS credentials file (default: ~/.aws/credentials).', helpGroup: 'AWS'}),
  'aws-ami': Flags.string({summary: 'AMI id machines boot.', helpGroup: 'AWS'}),
  'aws-type': Flags.string({default: 'm4.large', summary: 'EC2 instance type.', helpGroup: 'AWS'}),
  'aws-sg': Flags.string({
    default: 'kola',
    summary: 'Security group name; when none has that name, the run makes one (SSH open) and deletes it afterwards.',
    helpGroup: 'AWS',
  }),
  'aws-iam-profile': Flags.string({summary: 'IAM instance profile name for the machines.', helpGroup: 'AWS'}),
  'azure-auth': Flags.string({
    summary:
      'Azure credentials file: an SDK auth file (az ad sp create-for-rbac --sdk-auth; its endpoints choose the cloud) or azureCreds.json (as --azure-credentials). Default: $AZURE_CREDENTIALS, ~/.azure/azureCreds.json, then the AZURE_* variables or DefaultAzureCredential.',
    helpGroup: 'AZURE',
  }),
  'azure-profile': Flags.string({summary: 'Profile in an azureCreds.json holding several (default: "default").', helpGroup: 'AZURE'}),
  'azure-subscription': Flags.string({
    summary: "Azure subscription id (default: the credentials' or $AZURE_SUBSCRIPTION_ID).",
    helpGroup: 'AZURE',
  }),
  'azure-location': Flags.string({default: 'westus', summary: 'Azure location.', helpGroup: 'AZURE'}),
  'azure-size': Flags.string({default: 'Standard_DS2_v2', summary: 'Azure VM size.', helpGroup: 'AZURE'}),
  'azure-disk-uri': Flags.string({
    summary:
      'Resource id of the managed image (or gallery image version) machines boot; else the Marketplace image of --azure-publisher/-offer/-sku/-version.',
    helpGroup: 'AZURE',
  }),
  'azure-blob-url': Flags.string({
    summary:
      "A VHD page blob in a storage account of the subscription (ore azure upload-blob's URL): the run makes a managed image of it in its resource group.",
    helpGroup: 'AZURE',
  }),
  'azure-hyper-v-generation': Flags.option({
    options: ['V1', 'V2'] as const,
    default: 'V1' as const,
    summary: 'Hyper-V generation of the image made from --azure-blob-url.',
    helpGroup: 'AZURE',
  })(),
  'azure-publisher': Flags.string({default: 'kinvolk', summary: 'Marketplace image publisher.', helpGroup: 'AZURE'}),
  'azure-offer': Flags.string({default: 'flatcar-container-linux-free', summary: 'Marketplace image offer.', helpGroup: 'AZURE'}),
  'azure-sku': Flags.string({default: 'alpha', summary: 'Marketplace image SKU (the channel).', helpGroup: 'AZURE'}),
  'azure-version': Flags.string({default: 'latest', summary: 'Marketplace image version.', helpGroup: 'AZURE'}),
  'azure-vnet-subnet-name': Flags.string({
    summary: 'An existing subnet for the machines, as vnet-name/subnet-name (subnet "default" when omitted): the run makes no VNet.',
    helpGroup: 'AZURE',
  }),
  'azure-use-private-ips': Flags.boolean({
    summary: "Reach the machines at their NICs' private addresses: no public IPs are made.",
    helpGroup: 'AZURE',
  }),
  'azure-disk-controller': Flags.option({
    options: ['default', 'nvme', 'scsi'] as const,
    default: 'default',
    summary: "The VMs' disk controller type (default: the size's).",
    helpGroup: 'AZURE',
  })(),
  'azure-resource-group': Flags.string({
    summary:
      "An existing resource group the VMs go into; never deleted (the run deletes only its VMs there, its network stays in the run's group).",
    helpGroup: 'AZURE',
  }),
  'azure-resource-group-basename': Flags.string({
    default: 'kola-cluster',
    summary: "Prefix of the run's resource group (<basename>-<run id>).",
    helpGroup: 'AZURE',
  }),
  'azure-availability-set': Flags.string({
    summary: 'An existing availability set (in --azure-resource-group) the VMs join.',
    dependsOn: ['azure-resource-group'],
    helpGroup: 'AZURE',
  }),
  'azure-vm-identity': Flags.string({
    summary: 'A user-assigned managed identity (by name, looked up in the subscription) given to every VM.',
    helpGroup: 'AZURE',
  }),
  'azure-trusted-launch': Flags.boolean({
    summary: 'Trusted launch VMs (vTPM; the image must be Hyper-V generation 2).',
    exclusive: ['azure-confidential-vm'],
    helpGroup: 'AZURE',
  }),
  'azure-confidential-vm': Flags.boolean({
    summary: 'Confidential VMs (VM guest state encrypted; needs --azure-hyper-v-generation V2 and a confidential size).',
    exclusive: ['azure-trusted-launch'],
    helpGroup: 'AZURE',
  }),
  'azure-image-file': Flags.string({
    summary: 'A local fixed VHD: uploaded into a storage account of the run and made the image machines boot (wins over --azure-blob-url).',
    helpGroup: 'AZURE',
  }),
  'azure-use-gallery': Flags.boolean({
    summary: 'Make the --azure-image-file upload a gallery image version instead of a managed image.',
    dependsOn: ['azure-image-file'],
    helpGroup: 'AZURE',
  }),
  'azure-kola-vnet': Flags.string({
    summary: "The vnet-name/subnet-name kola runs in: the run's storage account (--azure-image-file) admits only it.",
    helpGroup: 'AZURE',
  }),
  'gce-image': Flags.string({
    default: 'projects/kinvolk-public/global/images/family/flatcar-alpha',
    summary: 'GCE image: a name in the project, projects/<p>/global/images/<name>, or .../images/family/<family>.',
    helpGroup: 'GCE',
  }),
  'gce-project': Flags.string({summary: "GCE project (default: the credentials' project_id).", helpGroup: 'GCE'}),
  'gce-zone': Flags.string({default: 'us-central1-a', summary: 'GCE zone.', helpGroup: 'GCE'}),
  'gce-machinetype': Flags.string({default: 't2d-standard-1', summary: 'GCE machine type.', helpGroup: 'GCE'}),
  'gce-disktype': Flags.string({default: 'pd-ssd', summary: 'GCE boot disk type.', helpGroup: 'GCE'}),
  'gce-network': Flags.string({default: 'default', summary: 'GCE network (SSH must be open to kola in its firewall).', helpGroup: 'GCE'}),
  'gce-json-key': Flags.string({
    summary: "A service account's JSON key (default: GOOGLE_APPLICATION_CREDENTIALS, gcloud's, ~/.config/gcp.json).",
    helpGroup: 'GCE',
  }),
  'gce-service-auth': Flags.boolean({summary: "Use the GCE metadata server's service account (kola running on GCE).", helpGroup: 'GCE'}),
  'gce-gvnic': Flags.boolean({summary: 'Use gVNIC instead of the default virtio-net network device.', helpGroup: 'GCE'}),
  'do-config-file': Flags.string({summary: 'DigitalOcean config file (default: ~/.config/digitalocean.json).', helpGroup: 'DIGITALOCEAN'}),
  'do-profile': Flags.string({summary: 'DigitalOcean profile (default: "default").', helpGroup: 'DIGITALOCEAN'}),
  'do-token': Flags.string({summary: 'DigitalOcean access token (overrides the config file).', helpGroup: 'DIGITALOCEAN'}),
  'do-region': Flags.string({default: 'sfo2', summary: 'DigitalOcean region slug.', helpGroup: 'DIGITALOCEAN'}),
  'do-size': Flags.string({default: 's-1vcpu-2gb', summary: 'DigitalOcean droplet size slug.', helpGroup: 'DIGITALOCEAN'}),
  'do-image': Flags.string({summary: 'DigitalOcean image id, or the name of a private image in the region.', helpGroup: 'DIGITALOCEAN'}),
  'brightbox-profile': Flags.string({
    summary: 'Brightbox profile in ~/.config/brightbox.json (default: "default"; else BRIGHTBOX_CLIENT/_SECRET).',
    helpGroup: 'BRIGHTBOX',
  }),
  'brightbox-config-file': Flags.string({
    summary: 'Brightbox credentials file (default: ~/.config/brightbox.json).',
    helpGroup: 'BRIGHTBOX',
  }),
  'brightbox-image': Flags.string({summary: 'Brightbox image id (img-xxxxx) machines boot.', helpGroup: 'BRIGHTBOX'}),
  'brightbox-server-type': Flags.string({default: '2gb.ssd', summary: 'Brightbox server type.', helpGroup: 'BRIGHTBOX'}),
  'brightbox-endpoint': Flags.string({
    summary: "API root instead of the profile's api_url or gb1 (tests).",
    helpGroup: 'BRIGHTBOX',
    hidden: true,
  }),
  'stackit-profile': Flags.string({
    summary: 'STACKIT profile in ~/.config/stackit.json (default: "default"; else the STACKIT_* variables).',
    helpGroup: 'STACKIT',
  }),
  'stackit-config-file': Flags.string({summary: 'STACKIT credentials file (default: ~/.config/stackit.json).', helpGroup: 'STACKIT'}),
  'stackit-image-id': Flags.string({summary: 'STACKIT image id machines boot.', helpGroup: 'STACKIT'}),
  'stackit-type': Flags.string({default: 'c2i.2', summary: 'STACKIT machine type.', helpGroup: 'STACKIT'}),
  'stackit-availability-zone': Flags.string({default: 'eu01-2', summary: 'STACKIT availability zone.', helpGroup: 'STACKIT'}),
  'stackit-network-id': Flags.string({summary: 'Network the machines join (SSH must reach them).', helpGroup: 'STACKIT'}),
  'stackit-security-group': Flags.string({multiple: true, summary: 'Security group ids for the machines.', helpGroup: 'STACKIT'}),
  'stackit-endpoint': Flags.string({summary: 'IaaS API root (tests).', helpGroup: 'STACKIT', hidden: true}),
  'stackit-token-url': Flags.string({summary: 'Token endpoint (tests).', helpGroup: 'STACKIT', hidden: true}),
  'oci-profile': Flags.string({
    summary: 'OCI profile in ~/.config/oci.json (default: "default"; else the OCI_CLI_* variables).',
    helpGroup: 'OCI',
  }),
  'oci-config-file': Flags.string({summary: 'OCI credentials file (default: ~/.config/oci.json).', helpGroup: 'OCI'}),
  'oci-compartment': Flags.string({summary: 'Compartment OCID (default: "compartment" of the OCI profile).', helpGroup: 'OCI'}),
  'oci-availability-domain': Flags.string({summary: "Availability domain (default: the compartment's first).", helpGroup: 'OCI'}),
  'oci-subnet': Flags.string({summary: 'Subnet OCID of the machines (SSH must be open to kola).', helpGroup: 'OCI'}),
  'oci-image': Flags.string({summary: 'Custom image OCID machines boot.', helpGroup: 'OCI'}),
  'oci-shape': Flags.string({default: 'VM.Standard.E4.Flex', summary: 'Instance shape.', helpGroup: 'OCI'}),
  'oci-ocpus': Flags.integer({default: 2, summary: 'OCPUs of a flexible shape.', helpGroup: 'OCI'}),
  'oci-memory-gb': Flags.integer({default: 8, summary: 'Memory (GB) of a flexible shape.', helpGroup: 'OCI'}),
  'oci-endpoint': Flags.string({
    summary: 'One base URL for Core Services and Identity (private endpoints, tests).',
    helpGroup: 'OCI',
    hidden: true,
  }),
  'esx-config-file': Flags.string({summary: 'ESX credentials file (default: ~/.config/esx.json).', helpGroup: 'ESX'}),
  'esx-profile': Flags.string({summary: 'ESX profile (default: "default").', helpGroup: 'ESX'}),
  'esx-server': Flags.string({summary: "vCenter server (default: the profile's server).", helpGroup: 'ESX'}),
  'esx-base-vm': Flags.string({
    summary: 'Base image machines are deployed from: its item in the content library ore esx create-base fills.',
    helpGroup: 'ESX',
  }),
  'esx-insecure': Flags.boolean({summary: "Accept the vCenter's self-signed certificate.", helpGroup: 'ESX'}),
  'esx-ova-path': Flags.string({
    summary: 'Upload this OVA for the run (a library item named by the run, deleted afterwards) instead of using --esx-base-vm.',
    helpGroup: 'ESX',
  }),
  'esx-static-ips': Flags.integer({
    summary: 'Instead of DHCP, give the machines this many static addresses (a pair each, in turn; a machine waits for a free pair).',
    helpGroup: 'ESX',
  }),
  'esx-gateway': Flags.string({summary: 'Public gateway (with --esx-static-ips).', helpGroup: 'ESX'}),
  'esx-gateway-private': Flags.string({summary: 'Private gateway (with --esx-static-ips).', helpGroup: 'ESX'}),
  'esx-first-static-ip': Flags.string({summary: 'First public address of the pool (with --esx-static-ips).', helpGroup: 'ESX'}),
  'esx-first-static-ip-private': Flags.string({summary: 'First private address of the pool (with --esx-static-ips).', helpGroup: 'ESX'}),
  'esx-subnet-size': Flags.integer({summary: 'Prefix length of both subnets, e.g. 24 (with --esx-static-ips).', helpGroup: 'ESX'}),
  'openstack-config-file': Flags.string({
    summary: 'OpenStack credentials file (default: ~/.config/openstack.json).',
    helpGroup: 'OPENSTACK',
  }),
  'openstack-profile': Flags.string({summary: 'OpenStack profile (default: "default").', helpGroup: 'OPENSTACK'}),
  'openstack-region': Flags.string({summary: "OpenStack region (default: the profile's region_name).", helpGroup: 'OPENSTACK'}),
  'openstack-image': Flags.string({summary: 'OpenStack image id or name machines boot.', helpGroup: 'OPENSTACK'}),
  'openstack-flavor': Flags.string({default: '1', summary: 'OpenStack flavor id or name.', helpGroup: 'OPENSTACK'}),
  'openstack-network': Flags.string({summary: 'OpenStack network id or name (default: the first network).', helpGroup: 'OPENSTACK'}),
  'openstack-domain': Flags.string({summary: "OpenStack domain (default: the profile's).", helpGroup: 'OPENSTACK'}),
  'openstack-floating-ip-pool': Flags.string({
    summary: "Give each machine a floating IP from this pool (default: the profile's floating_ip_pool); else its fixed address is used.",
    helpGroup: 'OPENSTACK',
  }),
  'openstack-host': Flags.string({
    summary: 'SSH into the machines through this host (host[:port], e.g. the OpenStack host), as a jump host.',
    helpGroup: 'OPENSTACK',
  }),
  'openstack-user': Flags.string({summary: 'User of the SSH connection to --openstack-host.', helpGroup: 'OPENSTACK'}),
  'openstack-keyfile': Flags.string({summary: 'Private SSH key file of --openstack-user on --openstack-host.', helpGroup: 'OPENSTACK'}),
  'hetzner-profile': Flags.string({
    summary: 'Hetzner profile in ~/.config/hetzner.json (default: "default"; else HCLOUD_TOKEN).',
    helpGroup: 'HETZNER',
  }),
  'hetzner-config-file': Flags.string({summary: 'Hetzner credentials file (default: ~/.config/hetzner.json).', helpGroup: 'HETZNER'}),
  'hetzner-image': Flags.string({summary: 'Hetzner image id or name machines boot.', helpGroup: 'HETZNER'}),
  'hetzner-server-type': Flags.string({default: 'cpx22', summary: 'Hetzner server type.', helpGroup: 'HETZNER'}),
  'hetzner-location': Flags.string({default: 'fsn1', summary: 'Hetzner location name.', helpGroup: 'HETZNER'}),
  'scaleway-profile': Flags.string({
    summary:
      'Scaleway profile in ~/.config/scaleway.json (default: "default"; else SCW_ACCESS_KEY, SCW_SECRET_KEY, SCW_DEFAULT_PROJECT_ID).',
    helpGroup: 'SCALEWAY',
  }),
  'scaleway-config-file': Flags.string({summary: 'Scaleway credentials file (default: ~/.config/scaleway.json).', helpGroup: 'SCALEWAY'}),
  'scaleway-image': Flags.string({summary: 'Scaleway snapshot id machines boot from.', helpGroup: 'SCALEWAY'}),
  'scaleway-instance-type': Flags.string({default: 'DEV1-S', summary: 'Scaleway instance type.', helpGroup: 'SCALEWAY'}),
  'scaleway-zone': Flags.string({default: 'fr-par-1', summary: 'Scaleway zone.', helpGroup: 'SCALEWAY'}),
  'akamai-profile': Flags.string({
    summary: 'Akamai profile in ~/.config/akamai.json (default: "default"; else LINODE_TOKEN).',
    helpGroup: 'AKAMAI',
  }),
  'akamai-config-file': Flags.string({summary: 'Akamai credentials file (default: ~/.config/akamai.json).', helpGroup: 'AKAMAI'}),
  'akamai-image': Flags.string({summary: 'Akamai image id machines boot (private/NNN).', helpGroup: 'AKAMAI'}),
  'akamai-type': Flags.string({default: 'g6-nanode-1', summary: 'Akamai Linode type.', helpGroup: 'AKAMAI'}),
  'akamai-region': Flags.string({default: 'us-ord', summary: 'Akamai region.', helpGroup: 'AKAMAI'}),
}

export interface PlatformFlagValues {
  platform: string
  distro?: string | undefined
  'platform-module'?: string[] | undefined
  'ssh-timeout': number
  'qemu-image'?: string | undefined
  'qemu-kernel'?: string | undefined
  'qemu-initrd'?: string | undefined
  'qemu-append'?: string | undefined
  'qemu-firmware'?: string | undefined
  'qemu-accel': 'auto' | 'kvm' | 'tcg'
  'qemu-memory': number
  'qemu-cpus': number
  'qemu-binary'?: string | undefined
  'qemu-options'?: string | undefined
  'external-provisioning-cmds'?: string | undefined
  'external-serial-console-cmd'?: string | undefined
  'external-deprovisioning-cmds'?: string | undefined
  'aws-region'?: string | undefined
  'aws-profile'?: string | undefined
  'aws-credentials-file'?: string | undefined
  'aws-ami'?: string | undefined
  'aws-type'?: string | undefined
  'aws-sg'?: string | undefined
  'aws-iam-profile'?: string | undefined
  'azure-auth'?: string | undefined
  /** kola kube's flag for the same file (kube/options.ts), which kola run also takes. */
  'azure-credentials'?: string | undefined
  'azure-profile'?: string | undefined
  'azure-subscription'?: string | undefined
  'azure-location'?: string | undefined
  'azure-size'?: string | undefined
  'azure-disk-uri'?: string | undefined
  'azure-blob-url'?: string | undefined
  'azure-hyper-v-generation'?: 'V1' | 'V2' | undefined
  'azure-publisher'?: string | undefined
  'azure-offer'?: string | undefined
  'azure-sku'?: string | undefined
  'azure-version'?: string | undefined
  'azure-vnet-subnet-name'?: string | undefined
  'azure-use-private-ips'?: boolean | undefined
  'azure-disk-controller'?: 'default' | 'nvme' | 'scsi' | undefined
  'azure-resource-group'?: string | undefined
  'azure-resource-group-basename'?: string | undefined
  'azure-availability-set'?: string | undefined
  'azure-vm-identity'?: string | undefined
  'azure-trusted-launch'?: boolean | undefined
  'azure-confidential-vm'?: boolean | undefined
  'azure-image-file'?: string | undefined
  'azure-use-gallery'?: boolean | undefined
  'azure-kola-vnet'?: string | undefined
  'gce-image'?: string | undefined
  'gce-project'?: string | undefined
  'gce-zone'?: string | undefined
  'gce-machinetype'?: string | undefined
  'gce-disktype'?: string | undefined
  'gce-network'?: string | undefined
  'gce-json-key'?: string | undefined
  'gce-service-auth'?: boolean | undefined
  'gce-gvnic'?: boolean | undefined
  'do-config-file'?: string | undefined
  'do-profile'?: string | undefined
  'do-token'?: string | undefined
  'do-region'?: string | undefined
  'do-size'?: string | undefined
  'do-image'?: string | undefined
  'brightbox-profile'?: string | undefined
  'brightbox-config-file'?: string | undefined
  'brightbox-image'?: string | undefined
  'brightbox-server-type'?: string | undefined
  'brightbox-endpoint'?: string | undefined
  'stackit-profile'?: string | undefined
  'stackit-config-file'?: string | undefined
  'stackit-image-id'?: string | undefined
  'stackit-type'?: string | undefined
  'stackit-availability-zone'?: string | undefined
  'stackit-network-id'?: string | undefined
  'stackit-security-group'?: string[] | undefined
  'stackit-endpoint'?: string | undefined
  'stackit-token-url'?: string | undefined
  'oci-profile'?: string | undefined
  'oci-config-file'?: string | undefined
  'oci-compartment'?: string | undefined
  'oci-availability-domain'?: string | undefined
  'oci-subnet'?: string | undefined
  'oci-image'?: string | undefined
  'oci-shape'?: string | undefined
  'oci-ocpus'?: number | undefined
  'oci-memory-gb'?: number | undefined
  'oci-endpoint'?: string | undefined
  'esx-config-file'?: string | undefined
  'esx-profile'?: string | undefined
  'esx-server'?: string | undefined
  'esx-base-vm'?: string | undefined
  'esx-insecure'?: boolean | undefined
  'esx-ova-path'?: string | undefined
  'esx-static-ips'?: number | undefined
  'esx-gateway'?: string | undefined
  'esx-gateway-private'?: string | undefined
  'esx-first-static-ip'?: string | undefined
  'esx-first-static-ip-private'?: string | undefined
  'esx-subnet-size'?: number | undefined
  'openstack-config-file'?: string | undefined
  'openstack-profile'?: string | undefined
  'openstack-region'?: string | undefined
  'openstack-image'?: string | undefined
  'openstack-flavor'?: string | undefined
  'openstack-network'?: string | undefined
  'openstack-domain'?: string | undefined
  'openstack-floating-ip-pool'?: string | undefined
  'openstack-host'?: string | undefined
  'openstack-user'?: string | undefined
  'openstack-keyfile'?: string | undefined
  'hetzner-profile'?: string | undefined
  'hetzner-config-file'?: string | undefined
  'hetzner-image'?: string | undefined
  'hetzner-server-type'?: string | undefined
  'hetzner-location'?: string | undefined
  'scaleway-profile'?: string | undefined
  'scaleway-config-file'?: string | undefined
  'scaleway-image'?: string | undefined
  'scaleway-instance-type'?: string | undefined
  'scaleway-zone'?: string | undefined
  'akamai-profile'?: string | undefined
  'akamai-config-file'?: string | undefined
  'akamai-image'?: string | undefined
  'akamai-type'?: string | undefined
  'akamai-region'?: string | undefined
}

/** What a command hands to `flightFor`: the platform's name, every platform's own options, and the common ones. */
export interface PlatformSettings {
  platform: string
  /** Modules defining more platforms. */
  modules: string[]
  options: PlatformOptions & {
    qemu: QemuOptions
    external: ExternalOptions
    aws: AwsPlatformOptions
    azure: AzurePlatformOptions
    gcp: GcpPlatformOptions
    do: DoPlatformOptions
    openstack: OpenStackPlatformOptions
    esx: EsxPlatformOptions
  }
  common: CommonFlightOptions
}

/** Flags and environment to the platform settings; the QEMU image defaults come from .services/test-image.env's variables. */
export function platformSettingsFrom(
  flags: PlatformFlagValues,
  env: NodeJS.ProcessEnv,
  context: {logger: Logger; signal?: AbortSignal | undefined; keepAlive?: boolean} & Partial<Pick<CommandContext, 'home' | 'redactor'>>,
): PlatformSettings {
  const qemu = qemuOptionsFrom(flags, env)
  return {
    platform: flags.platform,
    modules: flags['platform-module'] ?? [],
    options: {
      qemu,
      akamai: akamaiOptionsFrom(flags, env, context),
      oci: ociOptionsFrom(flags, env, context),
      stackit: stackitOptionsFrom(flags, env, context),
      brightbox: brightboxOptionsFrom(flags, env, context),
      scaleway: scalewayOptionsFrom(flags, env, context),
      hetzner: hetznerOptionsFrom(flags, env, context),
      external: {
        provisionCommand: flags['external-provisioning-cmds'] ?? '',
        consoleCommand: flags['external-serial-console-cmd'],
        deprovisionCommand: flags['external-deprovisioning-cmds'],
        env,
      },
      aws: {
        // Resolved by the flight, so that only a run on AWS reads AWS credentials.
        credentials: async () => {
          if (!context.home || !context.redactor) throw new Error('the AWS platform needs the command context')
          return resolveAws({
            profile: flags['aws-profile'],
            credentialsFile: flags['aws-credentials-file'],
            region: flags['aws-region'],
            env,
            home: context.home,
            logger: context.logger,
            redactor: context.redactor,
          })
        },
        ami: flags['aws-ami'] ?? '',
        instanceType: flags['aws-type'] ?? 'm4.large',
        securityGroup: flags['aws-sg'] ?? 'kola',
        iamInstanceProfile: flags['aws-iam-profile'],
      },
      azure: azureOptionsFrom(flags, env, context),
      gcp: {
        // Resolved by the flight, so that only a run on GCE reads Google credentials.
        credentials: async () => {
          if (!context.home || !context.redactor) throw new Error('the GCE platform needs the command context')
          return resolveGce({
            jsonKey: flags['gce-json-key'],
            serviceAuth: flags['gce-service-auth'],
            env,
            home: context.home,
            logger: context.logger,
            redactor: context.redactor,
          })
        },
        project: flags['gce-project'],
        image: flags['gce-image'] ?? 'projects/kinvolk-public/global/images/family/flatcar-alpha',
        zone: flags['gce-zone'] ?? 'us-central1-a',
        machineType: flags['gce-machinetype'] ?? 't2d-standard-1',
        diskType: flags['gce-disktype'] ?? 'pd-ssd',
        network: flags['gce-network'] ?? 'default',
        gvnic: flags['gce-gvnic'],
        endpoint: resolveEndpoints({}, env).gceCompute,
      },
      do: {
        // Read by the flight, so that only a run on DigitalOcean reads the profile.
        credentials: async () => {
          if (!context.home || !context.redactor) throw new Error('the DigitalOcean platform needs the command context')
          const token = flags['do-token']
          if (token) {
            context.redactor.add(token)
            return {token}
          }
          const profile = await loadProfile('do', {
            file: flags['do-config-file'],
            profile: flags['do-profile'],
            home: context.home,
            logger: context.logger,
            redactor: context.redactor,
          })
          return profile.credentials
        },
        region: flags['do-region'] ?? 'sfo2',
        size: flags['do-size'] ?? 's-1vcpu-2gb',
        image: flags['do-image'] ?? '',
        endpoint: resolveEndpoints({}, env).digitalocean,
      },
      esx: {
        // Read by the flight, so that only a run on ESX reads the profile.
        credentials: async () => {
          if (!context.home || !context.redactor) throw new Error('the ESX platform needs the command context')
          const {credentials} = await loadProfile('esx', {
            file: flags['esx-config-file'],
            profile: flags['esx-profile'],
            home: context.home,
            logger: context.logger,
            redactor: context.redactor,
          })
          return credentials
        },
        server: flags['esx-server'],
        baseVm: flags['esx-base-vm'] ?? '',
        insecure: flags['esx-insecure'],
        ovaPath: flags['esx-ova-path'],
        staticIps: esxStaticIpsFrom(flags),
      },
      openstack: {
        // Read by the flight, so that only a run on OpenStack reads the profile.
        credentials: async () => {
          if (!context.home || !context.redactor) throw new Error('the OpenStack platform needs the command context')
          const {credentials} = await loadProfile('openstack', {
            file: flags['openstack-config-file'],
            profile: flags['openstack-profile'],
            home: context.home,
            logger: context.logger,
            redactor: context.redactor,
          })
          return credentials
        },
        region: flags['openstack-region'],
        image: flags['openstack-image'] ?? '',
        flavor: flags['openstack-flavor'] ?? '1',
        network: flags['openstack-network'],
        domain: flags['openstack-domain'],
        floatingIpPool: flags['openstack-floating-ip-pool'],
        jumpHost: openstackJumpFrom(flags, context.logger),
      },
    },
    common: {
      logger: context.logger,
      signal: context.signal,
      keepAlive: context.keepAlive,
      distro: flags.distro ? distroByName(flags.distro) : defaultDistro(qemu.image),
      sshTimeoutMs: flags['ssh-timeout'] * 1000,
      runId: newRunId(),
    },
  }
}

/** The --azure-* flags: a managed image id wins over the Marketplace image. */
function azureOptionsFrom(
  flags: PlatformFlagValues,
  env: NodeJS.ProcessEnv,
  context: {logger: Logger} & Partial<Pick<CommandContext, 'home' | 'redactor'>>,
): AzurePlatformOptions {
  const diskUri = flags['azure-disk-uri']
  // A SAS token in the blob URL is a secret.
  context.redactor?.add(flags['azure-blob-url']?.split('?')[1])
  return {
    // Resolved by the flight, so that only a run on Azure reads Azure credentials.
    credentials: async () => {
      if (!context.home || !context.redactor) throw new Error('the Azure platform needs the command context')
      return resolveAzure({
        credentialsFile: flags['azure-auth'] ?? flags['azure-credentials'],
        profile: flags['azure-profile'],
        env,
        home: context.home,
        logger: context.logger,
        redactor: context.redactor,
      })
    },
    subscriptionId: flags['azure-subscription'],
    blobUrl: flags['azure-blob-url'],
    hyperVGeneration: flags['azure-hyper-v-generation'],
    location: flags['azure-location'] ?? 'westus',
    size: flags['azure-size'] ?? 'Standard_DS2_v2',
    ...azureMachineOptionsFrom(flags),
    image: diskUri
      ? {id: diskUri}
      : {
          publisher: flags['azure-publisher'] ?? 'kinvolk',
          offer: flags['azure-offer'] ?? 'flatcar-container-linux-free',
          sku: flags['azure-sku'] ?? 'alpha',
          version: flags['azure-version'] ?? 'latest',
        },
  }
}

/**
 * --esx-static-ips N and the addresses it needs (flatcar/mantle cmd/kola/options.go). Usage errors, before anything
 * is made: a part missing, or given without N; an address that is no IPv4; a pool that leaves its gateway's subnet or
 * holds the gateway.
 */
function esxStaticIpsFrom(flags: PlatformFlagValues): EsxStaticIps | undefined {
  const count = flags['esx-static-ips'] ?? 0
  const parts = {
    'esx-first-static-ip': flags['esx-first-static-ip'],
    'esx-first-static-ip-private': flags['esx-first-static-ip-private'],
    'esx-gateway': flags['esx-gateway'],
    'esx-gateway-private': flags['esx-gateway-private'],
    'esx-subnet-size': flags['esx-subnet-size'],
  }
  const given = Object.entries(parts).filter(([, v]) => v !== undefined)
  if (count < 0) throw new UsageError(`--esx-static-ips wants a number of addresses (0 for DHCP), got ${count}`)
  if (count === 0) {
    if (given.length > 0) throw new UsageError(`--${given.map(([k]) => k).join(', --')} only apply with --esx-static-ips N`)
    return undefined
  }
  const missing = Object.entries(parts).filter(([, v]) => v === undefined)
  if (missing.length > 0) throw new UsageError(`--esx-static-ips needs --${missing.map(([k]) => k).join(', --')}`)
  const size = parts['esx-subnet-size'] as number
  if (size < 1 || size > 30) throw new UsageError(`--esx-subnet-size wants a prefix length from 1 to 30, got ${size}`)
  const pool = (first: 'esx-first-static-ip' | 'esx-first-static-ip-private', gateway: 'esx-gateway' | 'esx-gateway-private') => {
    const [f, g] = [ipv4ToNumber(parts[first] as string), ipv4ToNumber(parts[gateway] as string)]
    for (const [name, value] of [
      [first, f],
      [gateway, g],
    ] as const)
      if (value === undefined) throw new UsageError(`--${name} wants an IPv4 address, got ${JSON.stringify(parts[name])}`)
    const block = 2 ** (32 - size)
    const subnet = Math.floor((g as number) / block) * block
    const last = (f as number) + count - 1
    // Neither the subnet's own address nor its broadcast address is a host's.
    if ((f as number) <= subnet || last >= subnet + block - 1)
      throw new UsageError(`--${first} ${parts[first]} and ${count - 1} after it are not all in --${gateway}'s subnet /${size}`)
    if ((g as number) >= (f as number) && (g as number) <= last)
      throw new UsageError(`--${gateway} ${parts[gateway]} is one of the ${count} addresses from --${first}`)
  }
  pool('esx-first-static-ip', 'esx-gateway')
  pool('esx-first-static-ip-private', 'esx-gateway-private')
  return {
    count,
    firstPublic: parts['esx-first-static-ip'] as string,
    firstPrivate: parts['esx-first-static-ip-private'] as string,
    publicGateway: parts['esx-gateway'] as string,
    privateGateway: parts['esx-gateway-private'] as string,
    subnetSize: size,
  }
}

/** --azure-* flags of where and how the VMs run (flatcar/mantle cmd/kola/options.go). */
function azureMachineOptionsFrom(flags: PlatformFlagValues): Partial<AzurePlatformOptions> {
  // Flatcar refuses a confidential VM of another generation (options.go); the flags' own exclusivity is oclif's.
  if (flags['azure-confidential-vm'] && flags['azure-hyper-v-generation'] !== 'V2')
    throw new UsageError('--azure-confidential-vm requires --azure-hyper-v-generation V2')
  const controller = flags['azure-disk-controller']
  return {
    subnet: subnetRef(flags['azure-vnet-subnet-name']),
    imageFile: flags['azure-image-file'],
    useGallery: flags['azure-use-gallery'],
    kolaVnet: subnetRef(flags['azure-kola-vnet']),
    usePrivateIps: flags['azure-use-private-ips'],
    diskController: controller === 'nvme' ? 'NVMe' : controller === 'scsi' ? 'SCSI' : undefined,
    resourceGroup: flags['azure-resource-group'],
    resourceGroupBasename: flags['azure-resource-group-basename'],
    availabilitySet: flags['azure-availability-set'],
    vmIdentity: flags['azure-vm-identity'],
    securityType: flags['azure-trusted-launch'] ? 'TrustedLaunch' : flags['azure-confidential-vm'] ? 'ConfidentialVM' : undefined,
  }
}

/** vnet-name/subnet-name; the subnet "default" when omitted (flatcar/mantle network.go findVnetSubnet). */
function subnetRef(value: string | undefined): AzurePlatformOptions['subnet'] {
  const [vnet, subnet] = (value ?? '').split(/\/(.*)/s)
  return vnet ? {vnet, subnet: subnet || 'default'} : undefined
}

/** --openstack-host with its user and key file (flatcar/mantle platform/machine/openstack/flight.go's checks). */
function openstackJumpFrom(flags: PlatformFlagValues, logger: Logger): OpenStackPlatformOptions['jumpHost'] {
  const [address, user, keyFile] = [flags['openstack-host'], flags['openstack-user'], flags['openstack-keyfile']]
  if (!address) {
    if (user || keyFile) logger.info('--openstack-user and --openstack-keyfile apply only with --openstack-host: ignored')
    return undefined
  }
  if (!user || !keyFile) throw new UsageError('--openstack-host needs --openstack-user and --openstack-keyfile')
  return {address, user, keyFile}
}

function qemuOptionsFrom(flags: PlatformFlagValues, env: NodeJS.ProcessEnv): QemuOptions {
  const image = flags['qemu-image'] ?? env.KOLA_TEST_IMAGE ?? ''
  // The test image's kernel only goes with the test image.
  const defaultBoot = flags['qemu-image'] === undefined
  return {
    image,
    kernel: flags['qemu-kernel'] ?? (defaultBoot ? env.KOLA_TEST_KERNEL : undefined),
    initrd: flags['qemu-initrd'] ?? (defaultBoot ? env.KOLA_TEST_INITRD : undefined),
    append: flags['qemu-append'],
    firmware: flags['qemu-firmware'],
    accel: flags['qemu-accel'],
    memoryMiB: flags['qemu-memory'],
    cpus: flags['qemu-cpus'],
    binary: flags['qemu-binary'],
    extraArgs: flags['qemu-options']?.split(/\s+/).filter(Boolean),
    path: env.PATH ?? '',
  }
}

/** Names every resource of one run (`kola-<8 hex>`): short and lowercase, as the strictest cloud (GCE) wants. */
function newRunId(): string {
  return `kola-${randomBytes(4).toString('hex')}`
}

/** `--parallel`: a positive number, or "auto". Checked here, not in the flag's parse function, whose errors oclif turns into "Parsing --parallel" and exit 4. */
export function parallelFrom(value: string): number | 'auto' {
  if (value === 'auto') return 'auto'
  if (/^[1-9]\d{0,5}$/.test(value)) return Number(value)
  throw new UsageError(
    `--parallel wants a positive number or "auto", got ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`,
  )
}

/** Flags that choose which tests run and how failures are kept: `kola run` and `kola rerun`. */
export const selectionFlags = {
  exttest: Flags.string({
    char: 'E',
    multiple: true,
    summary:
      "Also load external tests: a project directory holding tests/kola (coreos-assembler's layout), named ext.<project>.<dir>.<executable>.",
    helpGroup: 'SELECTION',
  }),
  tag: Flags.string({
    multiple: true,
    summary:
      'Run the tests with this tag (or whose requiredTag it is); "!T" leaves out tests tagged T. With name patterns, a test matches a pattern or a tag.',
    helpGroup: 'SELECTION',
  }),
  sharding: Flags.string({
    summary: 'hash:M/N: run only the tests whose name hashes to shard M of N (1 <= M <= N); N runners with M = 1..N cover every test once.',
    helpGroup: 'SELECTION',
  }),
  'ssh-on-test-failure': Flags.boolean({
    summary: "Keep a failed test's machines, print the ssh command that logs in, and wait at the end of the run until Ctrl-C.",
    exclusive: ['keep-failed'],
    helpGroup: 'DEBUGGING',
  }),
  'keep-failed': Flags.boolean({
    summary: "Leave failed tests' machines running after kola exits; the output and report.json say how to reach each.",
    helpGroup: 'DEBUGGING',
  }),
}

export interface SelectionFlagValues {
  exttest?: string[] | undefined
  tag?: string[] | undefined
  sharding?: string | undefined
  'ssh-on-test-failure'?: boolean | undefined
  'keep-failed'?: boolean | undefined
}

/** The selection flags as run options. */
export function selectionFrom(flags: SelectionFlagValues): {
  extDirs: string[]
  tags: string[]
  sharding: Sharding | undefined
  keepFailed: KeepMode
} {
  const tags = (flags.tag ?? []).flatMap((t) => t.split(',')).map((t) => t.trim())
  if (tags.some((t) => t === '' || t === '!')) throw new UsageError('--tag wants a tag name, or !name to leave tagged tests out')
  return {
    extDirs: flags.exttest ?? [],
    tags,
    sharding: flags.sharding === undefined ? undefined : parseSharding(flags.sharding),
    keepFailed: flags['keep-failed'] ? 'keep' : flags['ssh-on-test-failure'] ? 'ssh' : 'none',
  }
}

/** The architecture of the machines (tests' `architectures`, in coreos-assembler's names): qemu-system-<arch>'s. */
export function architectureOf(qemuBinary: string | undefined): string {
  const m = /qemu-system-([a-z0-9_]+)$/.exec(qemuBinary ?? 'qemu-system-x86_64')
  return m?.[1] ?? 'x86_64'
}

/** `kola kube run-tests` flags beyond the deployer's (kube/options.ts). */
export const runTestsFlags = {
  keep: Flags.boolean({summary: "Keep the run's namespace and the cluster afterwards (`kola kube down --output-dir` removes them)."}),
  helm: Flags.string({summary: "The helm binary for the project's charts (default: $MANTLE_KUBE_HELM, then helm on PATH)."}),
  parallelism: Flags.integer({min: 1, summary: 'At most this many test Jobs at once (overrides the settings file).'}),
  timeout: Flags.integer({min: 1, summary: 'Seconds per test, submission to end (overrides the settings file).'}),
  'metrics-port': Flags.integer({
    min: 0,
    max: 65535,
    summary: 'Serve Prometheus metrics (assertions_failed, tests_run, ...) on this port during the run and after it, until Ctrl-C.',
  }),
  'metrics-host': Flags.string({default: '127.0.0.1', summary: 'Address the metrics server listens on (with --metrics-port).'}),
}

export interface RunTestsFlagValues {
  keep?: boolean | undefined
  helm?: string | undefined
  parallelism?: number | undefined
  timeout?: number | undefined
  'metrics-port'?: number | undefined
  'metrics-host'?: string | undefined
}

/** The run-tests flags as options: helm from the flag, the local cluster service's MANTLE_KUBE_HELM, or PATH. */
export function runTestsFrom(
  flags: RunTestsFlagValues,
  env: NodeJS.ProcessEnv,
): {
  keep: boolean
  helm: string
  parallelism?: number | undefined
  timeoutSeconds?: number | undefined
  metrics?: {host: string; port: number} | undefined
} {
  return {
    metrics: flags['metrics-port'] === undefined ? undefined : {host: flags['metrics-host'] ?? '127.0.0.1', port: flags['metrics-port']},
    keep: flags.keep ?? false,
    helm: flags.helm ?? env.MANTLE_KUBE_HELM ?? 'helm',
    parallelism: flags.parallelism,
    timeoutSeconds: flags.timeout,
  }
}

/** The clouds of #24 whose credentials are a profile map or the cloud's own environment variables. */
type ProfileContext = {logger: Logger} & Partial<Pick<CommandContext, 'home' | 'redactor'>>

/** A resolver of one profile-map cloud's credentials, read by the flight so that only a run on that cloud reads them. */
function profileCredentials<P extends 'hetzner' | 'scaleway' | 'akamai'>(
  provider: P,
  file: string | undefined,
  profile: string | undefined,
  env: NodeJS.ProcessEnv,
  context: ProfileContext,
): () => Promise<ProfileCredentials[P]> {
  return async () => {
    if (!context.home || !context.redactor) throw new Error(`the ${provider} platform needs the command context`)
    const {home, logger, redactor} = context
    return (await loadProfile(provider, {file, profile, env, home, logger, redactor})).credentials
  }
}

function hetznerOptionsFrom(flags: PlatformFlagValues, env: NodeJS.ProcessEnv, context: ProfileContext): HetznerPlatformOptions {
  return {
    credentials: profileCredentials('hetzner', flags['hetzner-config-file'], flags['hetzner-profile'], env, context),
    endpoint: resolveEndpoints({}, env).hetzner,
    image: flags['hetzner-image'] ?? '',
    serverType: flags['hetzner-server-type'] ?? 'cpx22',
    location: flags['hetzner-location'] ?? 'fsn1',
  }
}

function scalewayOptionsFrom(flags: PlatformFlagValues, env: NodeJS.ProcessEnv, context: ProfileContext): ScalewayPlatformOptions {
  return {
    credentials: profileCredentials('scaleway', flags['scaleway-config-file'], flags['scaleway-profile'], env, context),
    endpoint: resolveEndpoints({}, env).scaleway,
    image: flags['scaleway-image'] ?? '',
    instanceType: flags['scaleway-instance-type'] ?? 'DEV1-S',
    zone: flags['scaleway-zone'] ?? 'fr-par-1',
  }
}

/** --oci-*: credentials resolved by the flight (only a run on OCI reads the profile and key). */
function ociOptionsFrom(
  flags: PlatformFlagValues,
  env: NodeJS.ProcessEnv,
  context: {logger: Logger} & Partial<Pick<CommandContext, 'home' | 'redactor'>>,
): OciPlatformOptions {
  const endpoint = flags['oci-endpoint']?.replace(/\/+$/, '')
  return {
    credentials: async () => {
      if (context.home === undefined || !context.redactor) throw new Error('the OCI platform needs the command context')
      return ociAuth(
        {file: flags['oci-config-file'], profile: flags['oci-profile']},
        {env, home: context.home, logger: context.logger, redactor: context.redactor},
      )
    },
    compartmentId: flags['oci-compartment'],
    availabilityDomain: flags['oci-availability-domain'],
    subnetId: flags['oci-subnet'] ?? '',
    imageId: flags['oci-image'] ?? '',
    shape: flags['oci-shape'] ?? 'VM.Standard.E4.Flex',
    ocpus: flags['oci-ocpus'] ?? 2,
    memoryGb: flags['oci-memory-gb'] ?? 8,
    endpoints: endpoint ? {iaas: endpoint, identity: endpoint, objectStorage: endpoint} : undefined,
  }
}

function akamaiOptionsFrom(flags: PlatformFlagValues, env: NodeJS.ProcessEnv, context: ProfileContext): AkamaiPlatformOptions {
  return {
    credentials: profileCredentials('akamai', flags['akamai-config-file'], flags['akamai-profile'], env, context),
    endpoint: resolveEndpoints({}, env).akamai,
    image: flags['akamai-image'] ?? '',
    type: flags['akamai-type'] ?? 'g6-nanode-1',
    region: flags['akamai-region'] ?? 'us-ord',
  }
}

/** --brightbox-*: the profile read by the flight (only a run on Brightbox reads it). */
function brightboxOptionsFrom(
  flags: PlatformFlagValues,
  env: NodeJS.ProcessEnv,
  context: {logger: Logger} & Partial<Pick<CommandContext, 'home' | 'redactor'>>,
): BrightboxPlatformOptions {
  return {
    credentials: async () => {
      if (context.home === undefined || !context.redactor) throw new Error('the Brightbox platform needs the command context')
      const profile = await loadProfile('brightbox', {
        file: flags['brightbox-config-file'],
        profile: flags['brightbox-profile'],
        env,
        home: context.home,
        logger: context.logger,
        redactor: context.redactor,
      })
      return profile.credentials
    },
    image: flags['brightbox-image'] ?? '',
    serverType: flags['brightbox-server-type'] ?? '2gb.ssd',
    endpoint: flags['brightbox-endpoint'],
  }
}

/** --stackit-*: credentials resolved by the flight (only a run on STACKIT reads the profile and key). */
function stackitOptionsFrom(
  flags: PlatformFlagValues,
  env: NodeJS.ProcessEnv,
  context: {logger: Logger} & Partial<Pick<CommandContext, 'home' | 'redactor'>>,
): StackitPlatformOptions {
  return {
    credentials: async () => {
      if (context.home === undefined || !context.redactor) throw new Error('the STACKIT platform needs the command context')
      return stackitAuth(
        {file: flags['stackit-config-file'], profile: flags['stackit-profile']},
        {env, home: context.home, logger: context.logger, redactor: context.redactor},
      )
    },
    imageId: flags['stackit-image-id'] ?? '',
    machineType: flags['stackit-type'] ?? 'c2i.2',
    availabilityZone: flags['stackit-availability-zone'] ?? 'eu01-2',
    networkId: flags['stackit-network-id'] ?? '',
    securityGroups: flags['stackit-security-group'] ?? [],
    endpoint: flags['stackit-endpoint'],
    tokenUrl: flags['stackit-token-url'],
  }
}
