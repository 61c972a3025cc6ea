// For the tests of the packages that use these modules (plume's adapters): the same recorded-HTTP harness and fakes.
export {useRecordedHttp} from './testing/recorded-http.js'
export {rejection, testContext, testServiceAccount, TEST_AWS_AUTH} from './testing/fakes.js'
export {recordingServer, type RecordedRequest, type Reply} from './testing/server.js'
export {makeVhd} from './testing/vhd.js'
