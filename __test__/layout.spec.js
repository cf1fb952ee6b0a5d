'use strict'

// The layout the README's "Architecture" section describes: modules import
// each other one way only, in JavaScript and in Rust, and the engine at the
// bottom knows nothing of napi.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** The .js files under `dir` (relative to the root), folders included. */
function jsFiles(dir) {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true })
    .filter((file) => file.endsWith('.js'))
    .map((file) => path.join(dir, file))
}

/** The first cycle in `graph` (name → names it imports), or null. */
function findCycle(graph) {
  const state = new Map()
  const stack = []
  function visit(node) {
    if (state.get(node) === 'done') return null
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node]
    state.set(node, 'visiting')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(node, 'done')
    return null
  }
  for (const node of graph.keys()) {
    const cycle = visit(node)
    if (cycle) return cycle
  }
  return null
}

test('JavaScript modules require each other one way only', (t) => {
  const graph = new Map()
  for (const from of [...jsFiles('lib'), ...jsFiles('bin')]) {
    const source = fs.readFileSync(path.join(root, from), 'utf8')
    const imports = [...source.matchAll(/require\('(\.{1,2}\/[^']+)'\)/g)].map((match) => {
      const target = path.relative(root, path.resolve(root, path.dirname(from), match[1]))
      if (target.endsWith('.js')) return target
      // A folder's module is its index.js.
      return fs.existsSync(path.join(root, target, 'index.js')) ? path.join(target, 'index.js') : `${target}.js`
    })
    graph.set(from, imports)
  }
  t.true(graph.get('lib/database/index.js').length > 3, 'the graph was read')
  t.true(graph.get('lib/backups/index.js').length > 3, 'folders were read')
  t.is(findCycle(graph), null)
})

test('Rust modules use each other one way only, and the engine knows nothing of napi', (t) => {
  const graph = new Map()
  for (const file of fs.readdirSync(path.join(root, 'src')).filter((f) => f.endsWith('.rs'))) {
    const source = fs.readFileSync(path.join(root, 'src', file), 'utf8')
    const uses = new Set([...source.matchAll(/crate::([a-z_]+)/g)].map((match) => match[1]))
    graph.set(file.replace(/\.rs$/, ''), [...uses])
  }
  t.true(graph.get('database').includes('engine'), 'the graph was read')
  t.is(findCycle(graph), null)
  t.false(/\bnapi(_derive)?::/.test(fs.readFileSync(path.join(root, 'src', 'engine.rs'), 'utf8')))
})

test('no JavaScript module is over 600 lines: a concept a file', (t) => {
  const files = [...jsFiles('lib'), ...jsFiles('bin')]
  t.true(files.includes(path.join('lib', 'database', 'index.js')), 'folders were read')
  const long = files.map((file) => [file, fs.readFileSync(path.join(root, file), 'utf8').split('\n').length]).filter(([, lines]) => lines > 600)
  t.deepEqual(long, [])
})
