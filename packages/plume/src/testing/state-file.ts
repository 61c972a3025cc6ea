import {readFileSync, renameSync, writeFileSync} from 'node:fs'

/**
 * A fake control plane's state in a JSON file, so that it survives the
 * SIGKILL of the process that changed it: each change is read, applied and
 * renamed into place synchronously (one writer at a time: the test runs one
 * plume process at a time).
 */
export class StateFile<S extends {writes: string[]}> {
  constructor(
    readonly path: string,
    private readonly initial: () => S,
  ) {}

  read(): S {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as S
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.initial()
      throw error
    }
  }

  /** Applies a change; `write` names it in the log of writes when it changed the cloud's resources. */
  update<T>(change: (state: S) => T, write?: string): T {
    const state = this.read()
    const out = change(state)
    if (write) state.writes.push(write)
    const tmp = `${this.path}.tmp`
    writeFileSync(tmp, JSON.stringify(state, null, 1))
    renameSync(tmp, this.path)
    return out
  }
}
