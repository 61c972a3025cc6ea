// A test that runs only on the lab platform of ../lab.mjs.
export const tests = [
  {
    name: 'lab.echo',
    platforms: ['lab'],
    clusterSize: 1,
    run: async (c) => {
      const out = await c.mustSsh(c.machines[0], 'echo hi')
      if (out !== 'lab says: echo hi') c.fatal(`got ${JSON.stringify(out)}`)
    },
  },
]
