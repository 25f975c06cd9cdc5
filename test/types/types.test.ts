// The type tests: `tsc` must accept test/types (nothing registered in RoomcastTypes) and
// test/types/registered (an application that registers its events and a user id type). Each
// compile-fail case is a `@ts-expect-error`, so one that starts compiling fails the check too.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

function typecheck(project: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', project], { cwd: root }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      done({ code, output: stdout + stderr })
    })
  })
}

// Two full compilations of the package on a machine shared with others.
t.setTimeout(300_000)

for (const project of ['test/types/tsconfig.json', 'test/types/registered/tsconfig.json']) {
  t.test(`tsc -p ${project}`, async (t) => {
    const { code, output } = await typecheck(project)
    t.equal(output, '', 'no diagnostics')
    t.equal(code, 0, 'exit code 0')
  })
}

t.test('an expected error that does not happen is itself an error under these options', async (t) => {
  const config = ts.getParsedCommandLineOfConfigFile(join(here, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
  if (config === undefined) throw new Error('test/types/tsconfig.json does not parse')
  const program = ts.createProgram([join(here, 'unused-directive.fixture.ts')], config.options)
  const codes = ts.getPreEmitDiagnostics(program).map((diagnostic) => diagnostic.code)
  t.same(codes, [2578], "TS2578: Unused '@ts-expect-error' directive")
})
