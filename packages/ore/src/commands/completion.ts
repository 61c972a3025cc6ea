import {CompletionCommand} from '@mantle/kit'

export default class Completion extends CompletionCommand {}
