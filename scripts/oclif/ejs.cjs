'use strict'
// What the kit's oclif bundle gets for `require('ejs')` (scripts/build.mjs). oclif renders every summary,
// description and example it shows through ejs, which compiles each string into a function; ours hold no
// template or only `<%= config.bin %>` and `<%= command.id %>`. Those are filled in here; anything else goes to
// the real ejs, loaded only then.
const SIMPLE = /<%([=-])\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*%>/g
const ESCAPES = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;'}

function render(template, data, options) {
  if (typeof template !== 'string' || options !== undefined) return require('ejs').render(template, data, options)
  if (!template.includes('<%')) return template
  if (template.replace(SIMPLE, '').includes('<%')) return require('ejs').render(template, data)
  return template.replace(SIMPLE, (_, kind, path) => {
    let value = data
    for (const key of path.split('.')) value = value == null ? undefined : value[key]
    const text = value == null ? '' : String(value)
    // `<%=` escapes as ejs does; `<%-` does not.
    return kind === '=' ? text.replace(/[&<>"']/g, (c) => ESCAPES[c]) : text
  })
}

module.exports = {render}
module.exports.default = module.exports
