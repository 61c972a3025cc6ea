/** Types of check-deps.mjs, for its test. */
export function importsOf(text: string): Set<string>
export function packageOf(specifier: string): string | undefined
export function checkPackage(dir: string, rootDevDependencies?: Record<string, string>): string[]
export function checkWorkspaces(root: string): string[]
