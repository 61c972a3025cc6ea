import {describe, expect, it} from 'vitest'

import type {aws, azure, gcloud, ServiceContext} from '@mantle/cloud'
import type {BaseFlags} from '@mantle/kit'

import type AzureCreateGalleryImage from './commands/azure/create-gallery-image.js'
import type GcloudCreateImage from './commands/gcloud/create-image.js'
import {
  awsSessionInput,
  awsUploadOptions,
  azureCreateGalleryImageOptions,
  gcloudCreateImageOptions,
  gcOptions,
  keyValues,
} from './options.js'

const noAwsFlags = {profile: undefined, 'credentials-file': undefined, 'access-id': undefined, 'secret-key': undefined, region: undefined}

describe('ore options', () => {
  it('Given only AWS_ENDPOINT_URL, when the aws session input is made, then the staging S3 endpoint is that URL, as for every S3 path', () => {
    expect(awsSessionInput(noAwsFlags, {AWS_ENDPOINT_URL: 'http://127.0.0.1:7480'}).s3Endpoint).toBe('http://127.0.0.1:7480')
  })

  it('Given --s3-endpoint, AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL, when resolved, then the flag wins, then the S3-specific variable', () => {
    const env = {AWS_ENDPOINT_URL_S3: 'http://s3.local', AWS_ENDPOINT_URL: 'http://all.local'}
    expect(awsSessionInput({...noAwsFlags, 's3-endpoint': 'http://flag.local'}, env).s3Endpoint).toBe('http://flag.local')
    expect(awsSessionInput(noAwsFlags, env).s3Endpoint).toBe('http://s3.local')
    expect(awsSessionInput(noAwsFlags, {}).s3Endpoint).toBeUndefined()
  })

  it('Given credential flags, when mapped, then they land in the typed AWS input', () => {
    expect(awsSessionInput({...noAwsFlags, profile: 'release', region: 'us-west-2'}, {}).auth).toEqual({
      profile: 'release',
      region: 'us-west-2',
      credentialsFile: undefined,
      accessKeyId: undefined,
      secretAccessKey: undefined,
    })
  })

  it('Given gc flags, when mapped, then the duration is milliseconds and a bad one is a usage error', () => {
    expect(gcOptions({duration: '2h', 'dry-run': true})).toEqual({olderThanMs: 2 * 3600_000, dryRun: true})
    expect(() => gcOptions({duration: 'soon', 'dry-run': false})).toThrow(/invalid duration "soon"/)
  })

  it('Given key=value flags, when mapped, then a map; a value without "=" is a usage error naming the flag', () => {
    expect(keyValues(['a=1', 'b=x=y'], 'tags')).toEqual({a: '1', b: 'x=y'})
    expect(() => keyValues(['novalue'], 'tags')).toThrow('--tags "novalue" is not key=value')
  })

  it("Given an upload's default flags, when mapped, then the AMI is registered uefi-preferred (Flatcar's registerImageParams) with the volume type asked for", () => {
    const flags = {
      board: 'arm64-usr',
      'object-format': 'raw',
      'delete-object': true,
      'boot-mode': 'uefi-preferred',
      'volume-type': 'gp2',
    } as unknown as Parameters<typeof awsUploadOptions>[0]
    const options = awsUploadOptions(
      flags,
      {name: 'Flatcar-alpha-4000.0.0-arm64-hvm', bucket: 'b', key: 'k', file: undefined},
      {ec2: {} as aws.Ec2Api, store: undefined, volumeSizeGiB: 16},
      {} as ServiceContext,
    )
    expect({
      architecture: options.architecture,
      bootMode: options.bootMode,
      volumeType: options.volumeType,
      volumeSizeGiB: options.volumeSizeGiB,
    }).toEqual({architecture: 'arm64', bootMode: 'uefi-preferred', volumeType: 'gp2', volumeSizeGiB: 16})
  })

  it("Given gcloud create-image's flags, when mapped, then Flatcar's guest OS features and the board's architecture go to images.insert", () => {
    const flags = {
      family: 'flatcar-alpha',
      version: '4000.0.0',
      board: 'arm64-usr',
      'source-root': 'gs://b/boards/',
      'source-name': 'x.tar.gz',
      'guest-os-feature': ['VIRTIO_SCSI_MULTIQUEUE', 'UEFI_COMPATIBLE', 'GVNIC'],
    } as unknown as BaseFlags<typeof GcloudCreateImage>
    const options = gcloudCreateImageOptions(flags, {} as gcloud.GceComputeApi, {} as ServiceContext)
    expect({features: options.guestOsFeatures, architecture: options.architecture, source: options.source}).toEqual({
      features: ['VIRTIO_SCSI_MULTIQUEUE', 'UEFI_COMPATIBLE', 'GVNIC'],
      architecture: 'ARM64',
      source: 'gs://b/boards/arm64-usr/4000.0.0/x.tar.gz',
    })
  })

  it('Given --feature name=value flags, when mapped, then the definition features keep their order, and a bad one is a usage error', () => {
    const flags = (feature: string[]) =>
      ({feature, region: undefined, architecture: 'Arm64'}) as unknown as BaseFlags<typeof AzureCreateGalleryImage>
    expect(
      azureCreateGalleryImageOptions(
        flags(['DiskControllerTypes=NVMe,SCSI', 'SecurityType=TrustedLaunchAndConfidentialVMSupported']),
        {} as azure.AzureComputeApi,
        {} as ServiceContext,
      ).features,
    ).toEqual([
      {name: 'DiskControllerTypes', value: 'NVMe,SCSI'},
      {name: 'SecurityType', value: 'TrustedLaunchAndConfidentialVMSupported'},
    ])
    expect(() => azureCreateGalleryImageOptions(flags(['SecurityType']), {} as azure.AzureComputeApi, {} as ServiceContext)).toThrow(
      '--feature "SecurityType" is not key=value',
    )
  })
})
