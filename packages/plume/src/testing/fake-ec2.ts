import {createHash} from 'node:crypto'

import * as EC2 from '@aws-sdk/client-ec2'
import * as STS from '@aws-sdk/client-sts'
import {mockClient} from 'aws-sdk-client-mock'

import {StateFile} from './state-file.js'

/** What the fake EC2 keeps per region. */
export interface FakeImage {
  id: string
  region: string
  name: string
  description?: string | undefined
  state: 'pending' | 'available'
  snapshotId: string
  tags: Record<string, string>
  launchUsers: string[]
  public: boolean
  /** ISO date; tests seed old images with it. */
  created?: string | undefined
  /** ISO date of the last launch (DescribeImageAttribute lastLaunchedTime); never launched when absent. */
  lastLaunched?: string | undefined
  /** The RegisterImage or CopyImage request that made it, whole, for the request-shape tests. */
  request?: {command: 'RegisterImage' | 'CopyImage'; input: EC2.RegisterImageCommandInput | EC2.CopyImageCommandInput} | undefined
  architecture?: string | undefined
}

export interface FakeSnapshot {
  id: string
  region: string
  state: 'completed'
  tags: Record<string, string>
  volumeUsers: string[]
  public: boolean
}

export interface FakeImportTask {
  id: string
  region: string
  description: string
  bucket: string
  key: string
  status: 'active' | 'completed' | 'deleted'
  snapshotId?: string | undefined
}

export interface FakeEc2State {
  images: FakeImage[]
  snapshots: FakeSnapshot[]
  importTasks: FakeImportTask[]
  /** Every call that created or changed a resource, in order. */
  writes: string[]
  counter: number
}

export interface FakeEc2Options {
  stateFile: string
  /** The regions DescribeRegions lists. */
  regions: readonly string[]
  /** ImportSnapshot reads the staged object: it must exist (the test's real S3 or directory). */
  objectExists: (bucket: string, key: string) => Promise<boolean>
  /** Awaited before each CopyImage answers: tests hold copies to see them overlap. */
  beforeCopy?: ((region: string) => Promise<void>) | undefined
}

function awsError(name: string, message: string): Error {
  const e = new Error(message)
  e.name = name
  return Object.assign(e, {Code: name, $metadata: {httpStatusCode: 400}})
}

const tagsOf = (list: EC2.Tag[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
const toTags = (map: Record<string, string>): EC2.Tag[] => Object.entries(map).map(([Key, Value]) => ({Key, Value}))

/**
 * EC2's image calls at the SDK boundary (aws-sdk-client-mock), backed by a
 * state file: ImportSnapshot, snapshots, images, copies, permissions. Import
 * tasks complete, and images become available, on the next describe. Every
 * create or change is logged in `writes`, which the tests count.
 */
export function installFakeEc2(options: FakeEc2Options): {state: StateFile<FakeEc2State>; restore: () => void} {
  const state = new StateFile<FakeEc2State>(options.stateFile, () => ({images: [], snapshots: [], importTasks: [], writes: [], counter: 0}))
  const ec2 = mockClient(EC2.EC2Client)
  const sts = mockClient(STS.STSClient)
  sts
    .on(STS.GetCallerIdentityCommand)
    .resolves({Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/plume-test', UserId: 'AIDATEST'})

  const regionOf = async (getClient: () => {config: {region: unknown}}): Promise<string> => {
    const r = getClient().config.region
    return typeof r === 'function' ? String(await (r as () => Promise<string>)()) : String(r)
  }
  const id = (s: FakeEc2State, kind: string, seed: string): string => {
    s.counter++
    return `${kind}-${createHash('sha1').update(`${seed}#${s.counter}`).digest('hex').slice(0, 17)}`
  }
  // A deterministic clock: one second per resource created.
  const created = (s: FakeEc2State): string => new Date(Date.UTC(2026, 10, 21) + s.counter * 1000).toISOString()
  const describeImage = (i: FakeImage): EC2.Image => ({
    ImageId: i.id,
    Name: i.name,
    Description: i.description,
    State: i.state,
    Public: i.public,
    CreationDate: i.created,
    Tags: toTags(i.tags),
    Architecture: i.architecture as EC2.ArchitectureValues | undefined,
    BlockDeviceMappings: [{DeviceName: '/dev/xvda', Ebs: {SnapshotId: i.snapshotId}}],
  })

  ec2.on(EC2.DescribeRegionsCommand).callsFake(async () => ({Regions: options.regions.map((RegionName) => ({RegionName}))}))

  ec2.on(EC2.ImportSnapshotCommand).callsFake(async (input: EC2.ImportSnapshotCommandInput, getClient) => {
    const region = await regionOf(getClient)
    const bucket = input.DiskContainer?.UserBucket?.S3Bucket ?? ''
    const key = input.DiskContainer?.UserBucket?.S3Key ?? ''
    if (!(await options.objectExists(bucket, key))) throw awsError('InvalidParameter', `s3://${bucket}/${key} does not exist`)
    return state.update((s) => {
      const task: FakeImportTask = {
        id: id(s, 'import-snap', `${region}/${input.Description}`),
        region,
        description: input.Description ?? '',
        bucket,
        key,
        status: 'active',
      }
      s.importTasks.push(task)
      return {ImportTaskId: task.id}
    }, `ImportSnapshot ${region} ${input.Description}`)
  })

  ec2.on(EC2.DescribeImportSnapshotTasksCommand).callsFake(async (input: EC2.DescribeImportSnapshotTasksCommandInput, getClient) => {
    const region = await regionOf(getClient)
    return state.update((s) => {
      const tasks = s.importTasks.filter((t) => t.region === region && (!input.ImportTaskIds?.length || input.ImportTaskIds.includes(t.id)))
      for (const t of tasks) {
        // An import finishes by the time someone asks: the snapshot appears, untagged.
        if (t.status !== 'active') continue
        const snap: FakeSnapshot = {
          id: id(s, 'snap', `${region}/${t.description}`),
          region,
          state: 'completed',
          tags: {},
          volumeUsers: [],
          public: false,
        }
        s.snapshots.push(snap)
        t.status = 'completed'
        t.snapshotId = snap.id
      }
      return {
        ImportSnapshotTasks: tasks.map((t) => ({
          ImportTaskId: t.id,
          Description: t.description,
          SnapshotTaskDetail: {Status: t.status, SnapshotId: t.snapshotId},
        })),
      }
    })
  })

  ec2.on(EC2.DescribeSnapshotsCommand).callsFake(async (input: EC2.DescribeSnapshotsCommandInput, getClient) => {
    const region = await regionOf(getClient)
    const s = state.read()
    let snaps = s.snapshots.filter((x) => x.region === region)
    if (input.SnapshotIds?.length) snaps = snaps.filter((x) => input.SnapshotIds!.includes(x.id))
    for (const f of input.Filters ?? []) {
      if (f.Name?.startsWith('tag:')) snaps = snaps.filter((x) => f.Values?.includes(x.tags[f.Name!.slice(4)] ?? '\0'))
    }
    if (input.RestorableByUserIds?.length) {
      snaps = snaps.filter((x) => input.RestorableByUserIds!.every((u) => (u === 'all' ? x.public : x.public || x.volumeUsers.includes(u))))
    }
    return {Snapshots: snaps.map((x) => ({SnapshotId: x.id, State: x.state, Tags: toTags(x.tags)}))}
  })

  ec2.on(EC2.CreateTagsCommand).callsFake(async (input: EC2.CreateTagsCommandInput, getClient) => {
    const region = await regionOf(getClient)
    state.update(
      (s) => {
        for (const rid of input.Resources ?? []) {
          const target =
            s.snapshots.find((x) => x.id === rid && x.region === region) ?? s.images.find((x) => x.id === rid && x.region === region)
          if (!target) throw awsError('InvalidID', `no resource ${rid} in ${region}`)
          Object.assign(target.tags, tagsOf(input.Tags))
        }
      },
      `CreateTags ${region} ${(input.Resources ?? []).join(',')}`,
    )
    return {}
  })

  ec2.on(EC2.RegisterImageCommand).callsFake(async (input: EC2.RegisterImageCommandInput, getClient) => {
    const region = await regionOf(getClient)
    return state.update((s) => {
      if (s.images.some((i) => i.region === region && i.name === input.Name))
        throw awsError('InvalidAMIName.Duplicate', `AMI name ${input.Name} is already in use`)
      const snapshotId = input.BlockDeviceMappings?.find((b) => b.Ebs?.SnapshotId)?.Ebs?.SnapshotId ?? ''
      if (!s.snapshots.some((x) => x.id === snapshotId && x.region === region))
        throw awsError('InvalidSnapshot.NotFound', `no snapshot ${snapshotId}`)
      const tags = tagsOf(input.TagSpecifications?.find((t) => t.ResourceType === 'image')?.Tags)
      const image: FakeImage = {
        id: id(s, 'ami', `${region}/${input.Name}`),
        region,
        name: input.Name ?? '',
        description: input.Description,
        state: 'pending',
        snapshotId,
        tags,
        launchUsers: [],
        public: false,
        created: created(s),
        request: {command: 'RegisterImage', input},
        architecture: input.Architecture,
      }
      s.images.push(image)
      return {ImageId: image.id}
    }, `RegisterImage ${region} ${input.Name}`)
  })

  ec2.on(EC2.DescribeImagesCommand).callsFake(async (input: EC2.DescribeImagesCommandInput, getClient) => {
    const region = await regionOf(getClient)
    return state.update((s) => {
      let images = s.images.filter((i) => i.region === region)
      if (input.ImageIds?.length) {
        images = images.filter((i) => input.ImageIds!.includes(i.id))
        if (images.length === 0) throw awsError('InvalidAMIID.NotFound', `no image ${input.ImageIds.join(',')}`)
      }
      const glob = (pattern: string): RegExp =>
        new RegExp(
          `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replaceAll('*', '.*')
            .replaceAll('?', '.')}$`,
        )
      for (const f of input.Filters ?? []) {
        if (f.Name === 'name') images = images.filter((i) => (f.Values ?? []).some((v) => glob(v).test(i.name)))
        if (f.Name?.startsWith('tag:')) images = images.filter((i) => f.Values?.includes(i.tags[f.Name!.slice(4)] ?? '\0'))
      }
      if (input.ExecutableUsers?.length)
        images = images.filter((i) => input.ExecutableUsers!.every((u) => (u === 'all' ? i.public : i.public || i.launchUsers.includes(u))))
      const out = images.map(describeImage)
      // An image is available once it has been seen pending.
      for (const i of images) i.state = 'available'
      return {Images: out}
    })
  })

  ec2.on(EC2.CopyImageCommand).callsFake(async (input: EC2.CopyImageCommandInput, getClient) => {
    const region = await regionOf(getClient)
    await options.beforeCopy?.(region)
    return state.update((s) => {
      const source = s.images.find((i) => i.id === input.SourceImageId && i.region === input.SourceRegion)
      if (!source) throw awsError('InvalidAMIID.NotFound', `no image ${input.SourceImageId} in ${input.SourceRegion}`)
      if (s.images.some((i) => i.region === region && i.name === input.Name))
        throw awsError('InvalidAMIName.Duplicate', `AMI name ${input.Name} is already in use`)
      const snap: FakeSnapshot = {
        id: id(s, 'snap', `${region}/${input.Name}`),
        region,
        state: 'completed',
        tags: {},
        volumeUsers: [],
        public: false,
      }
      s.snapshots.push(snap)
      const image: FakeImage = {
        id: id(s, 'ami', `${region}/${input.Name}`),
        region,
        name: input.Name ?? source.name,
        description: input.Description,
        state: 'pending',
        snapshotId: snap.id,
        tags: {},
        launchUsers: [],
        public: false,
        created: created(s),
        request: {command: 'CopyImage', input},
        architecture: source.architecture,
      }
      s.images.push(image)
      return {ImageId: image.id}
    }, `CopyImage ${region} ${input.Name}`)
  })

  ec2.on(EC2.ModifyImageAttributeCommand).callsFake(async (input: EC2.ModifyImageAttributeCommandInput, getClient) => {
    const region = await regionOf(getClient)
    state.update(
      (s) => {
        const image = s.images.find((i) => i.id === input.ImageId && i.region === region)
        if (!image) throw awsError('InvalidAMIID.NotFound', `no image ${input.ImageId}`)
        for (const p of input.LaunchPermission?.Add ?? []) {
          if (p.Group === 'all') image.public = true
          else if (p.UserId && !image.launchUsers.includes(p.UserId)) image.launchUsers.push(p.UserId)
        }
        for (const p of input.LaunchPermission?.Remove ?? []) {
          if (p.Group === 'all') image.public = false
          else image.launchUsers = image.launchUsers.filter((u) => u !== p.UserId)
        }
      },
      `ModifyImageAttribute ${region} ${input.ImageId} ${JSON.stringify(input.LaunchPermission ?? {})}`,
    )
    return {}
  })

  ec2.on(EC2.ModifySnapshotAttributeCommand).callsFake(async (input: EC2.ModifySnapshotAttributeCommandInput, getClient) => {
    const region = await regionOf(getClient)
    state.update(
      (s) => {
        const snap = s.snapshots.find((x) => x.id === input.SnapshotId && x.region === region)
        if (!snap) throw awsError('InvalidSnapshot.NotFound', `no snapshot ${input.SnapshotId}`)
        if (input.GroupNames?.includes('all')) snap.public = true
        for (const u of input.UserIds ?? []) if (!snap.volumeUsers.includes(u)) snap.volumeUsers.push(u)
      },
      `ModifySnapshotAttribute ${region} ${input.SnapshotId} ${JSON.stringify({users: input.UserIds, groups: input.GroupNames})}`,
    )
    return {}
  })

  ec2.on(EC2.DescribeImageAttributeCommand).callsFake(async (input: EC2.DescribeImageAttributeCommandInput, getClient) => {
    const region = await regionOf(getClient)
    const image = state.read().images.find((i) => i.id === input.ImageId && i.region === region)
    if (!image) throw awsError('InvalidAMIID.NotFound', `no image ${input.ImageId}`)
    if (input.Attribute !== 'lastLaunchedTime')
      throw awsError('InvalidParameterValue', `the fake knows only lastLaunchedTime, not ${input.Attribute}`)
    return {ImageId: image.id, LastLaunchedTime: image.lastLaunched ? {Value: image.lastLaunched} : {}}
  })

  ec2.on(EC2.DeregisterImageCommand).callsFake(async (input: EC2.DeregisterImageCommandInput, getClient) => {
    const region = await regionOf(getClient)
    state.update(
      (s) => void (s.images = s.images.filter((i) => !(i.id === input.ImageId && i.region === region))),
      `DeregisterImage ${region} ${input.ImageId}`,
    )
    return {}
  })

  ec2.on(EC2.DeleteSnapshotCommand).callsFake(async (input: EC2.DeleteSnapshotCommandInput, getClient) => {
    const region = await regionOf(getClient)
    state.update((s) => {
      // As EC2: a snapshot an AMI still uses cannot be deleted.
      const user = s.images.find((i) => i.region === region && i.snapshotId === input.SnapshotId)
      if (user) throw awsError('InvalidSnapshot.InUse', `The snapshot ${input.SnapshotId} is currently in use by ${user.id}`)
      s.snapshots = s.snapshots.filter((x) => !(x.id === input.SnapshotId && x.region === region))
    }, `DeleteSnapshot ${region} ${input.SnapshotId}`)
    return {}
  })

  return {
    state,
    restore: () => {
      ec2.restore()
      sts.restore()
    },
  }
}
