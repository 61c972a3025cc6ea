import type {Cluster, ClusterOptions, CommonFlightOptions, Flight} from '../platform.js'
import type {SshIdentity} from '../ssh.js'
import {RemoteCluster} from './cluster.js'
import type {Provisioner} from './machine.js'

/** A flight whose machines a Provisioner creates (clouds, external commands). */
export class RemoteFlight implements Flight {
  private readonly clusters = new Set<RemoteCluster>()

  constructor(
    readonly platform: string,
    readonly identity: SshIdentity,
    private readonly provisioner: (options: ClusterOptions) => Provisioner,
    protected readonly common: CommonFlightOptions,
    /** Deletes what the flight itself created, after every machine is gone. */
    private readonly release: () => Promise<void> = async () => undefined,
  ) {}

  async newCluster(options: ClusterOptions): Promise<Cluster> {
    const {distro, sshTimeoutMs, logger, runId} = this.common
    const cluster = new RemoteCluster(
      {provisioner: this.provisioner(options), identity: this.identity, distro, sshTimeoutMs, logger, runId},
      options,
    )
    this.clusters.add(cluster)
    return cluster
  }

  async destroy(): Promise<void> {
    await Promise.allSettled([...this.clusters].map((c) => c.destroy()))
    this.clusters.clear()
    await this.release()
  }
}
