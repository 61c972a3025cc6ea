// Tests that boot no machine up front (clusterSize 0), for the lab platform of ../lab.mjs:
// one boots its own machine, the other none.
export const tests = [
  {
    name: 'own.machine',
    platforms: ['lab'],
    clusterSize: 0,
    run: async (c) => {
      const m = await c.cluster.newMachine({})
      const out = await c.mustSsh(m, 'echo own')
      if (out !== 'lab says: echo own') c.fatal(`got ${JSON.stringify(out)}`)
    },
  },
  {
    name: 'own.none',
    platforms: ['lab'],
    clusterSize: 0,
    run: async (c) => c.log('no machine needed'),
  },
]
