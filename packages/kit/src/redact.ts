/**
 * Secrets that must never be printed. Credential resolvers register every
 * secret they load; every line the logger and the error handler print passes
 * through `redact`.
 */
export class Redactor {
  private readonly secrets = new Set<string>()

  add(secret: string | undefined): void {
    // Very short values would redact ordinary words; real secrets are longer.
    if (secret && secret.length >= 6) {
      this.secrets.add(secret)
      // PEM keys and JSON-escaped forms appear in output differently: cover each line too.
      for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 16) this.secrets.add(line.trim())
      const escaped = JSON.stringify(secret).slice(1, -1)
      if (escaped !== secret) this.secrets.add(escaped)
    }
  }

  redact(text: string): string {
    let out = text
    // Longest first, so that a secret containing another is replaced whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(s)) out = out.split(s).join('***')
    }
    return out
  }

  /** Redacts every string inside a JSON-able value. */
  redactValue<T>(value: T): T {
    if (this.secrets.size === 0) return value
    return JSON.parse(this.redact(JSON.stringify(value))) as T
  }
}
