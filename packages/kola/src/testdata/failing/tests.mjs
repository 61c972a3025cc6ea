// A test that always fails, loaded with --tests-dir by the integration tests
// only: it is not part of kola's built-in suite.
export const tests = [
  {
    name: 'kolatest.fails',
    description: 'Fails on purpose, after reaching its machine',
    clusterSize: 1,
    run: async (c) => {
      const [m] = c.machines
      const kernel = await c.mustSsh(m, 'uname -r')
      c.log(`reached the machine (kernel ${kernel})`)
      c.fatal('deliberate failure: /etc/kola-missing does not exist')
    },
  },
]
