import {VersionCommand} from '@mantle/kit'

export default class Version extends VersionCommand {}
