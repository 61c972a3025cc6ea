/**
 * Integration tests find the services that scripts/services/<name>.sh started
 * through environment variables (scripts/test.sh sources .services/*.env).
 * Under CI a missing service is a failure, never a silent skip; on a
 * developer's machine the test is skipped with the reason.
 */
export function serviceEnv(names: readonly string[], env: NodeJS.ProcessEnv = process.env): {available: boolean; missing: string[]} {
  const missing = names.filter((n) => !env[n])
  if (missing.length > 0 && env.CI) {
    throw new Error(`CI is set but the test services are missing: ${missing.join(', ')} (scripts/services/*.sh start writes them)`)
  }
  return {available: missing.length === 0, missing}
}
