import {userKeyDirectory, type CommandContext} from '@mantle/kit'

/** The user's keyring directory, from the environment read once by the command. */
export function userKeyring(ctx: Pick<CommandContext, 'env' | 'home'>): string {
  return userKeyDirectory(ctx.env, ctx.home)
}
