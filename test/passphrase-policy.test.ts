// The STIG passphrase profile: 15 characters, upper, lower, digit, special, no run longer than 3, 8 characters
// changed from the previous one; every broken rule is named and the passphrase never appears in the error.
import t from 'tap'
import { assertPassphrase, charactersChanged, checkPassphrase, STIG_PASSPHRASE_POLICY } from '../src/core/compliance/passphrase.js'

const rules = (p: string, previous?: string): string[] => checkPassphrase(p, previous === undefined ? {} : { previous }).failures.map((f) => f.rule)

t.test('each rule on its own', async (t) => {
  t.strictSame(STIG_PASSPHRASE_POLICY, { minLength: 15, upper: true, lower: true, digit: true, special: true, maxRepeated: 3, minChangedFromPrevious: 8 })
  t.strictSame(rules('Correct-Horse-9-Battery'), [])
  t.strictSame(rules('Short-9-Pass'), ['min-length'])
  t.strictSame(rules('Correct-Hors9e'), ['min-length'], '14 characters is one short')
  t.strictSame(rules('Correct-Hors9e!'), [], '15 characters with all classes passes')
  t.strictSame(rules('correct-horse-9-battery'), ['upper'])
  t.strictSame(rules('CORRECT-HORSE-9-BATTERY'), ['lower'])
  t.strictSame(rules('Correct-Horse-x-Battery'), ['digit'])
  t.strictSame(rules('CorrectHorse9Battery'), ['special'])
  t.strictSame(rules('Correct-Hooorse-9-Battery'), [], 'a run of 3 is allowed')
  t.strictSame(rules('Correct-Hoooorse-9-Battery'), ['max-repeated'], 'a run of 4 is not')
  t.strictSame(rules('aaaa'), ['min-length', 'upper', 'digit', 'special', 'max-repeated'], 'every failure at once')
  t.strictSame(rules('Ünïcödé-Pässwörd-42'), [], 'letters beyond ASCII count as letters')
})

t.test('difference from the previous passphrase', async (t) => {
  t.equal(charactersChanged('abcdef', 'abcxyz'), 3)
  t.equal(charactersChanged('abc', 'abcdef'), 3)
  t.strictSame(rules('Correct-Horse-9-Battery', 'Correct-Horse-9-Batterz'), ['changed-from-previous'], 'one character changed')
  t.strictSame(rules('Correct-Horse-9-Battery', 'Incorrect+Mule+7+Stapler'), [])
})

t.test('assertPassphrase names the rules, never the passphrase', async (t) => {
  t.throws(() => assertPassphrase('hunter2hunter2'), { code: 'MAIF_ERR_PASSPHRASE_POLICY', message: /at least 15 characters.*upper-case/ })
  try {
    assertPassphrase('hunter2hunter2')
  } catch (err) {
    t.notMatch((err as Error).message, /hunter2/)
  }
  t.doesNotThrow(() => assertPassphrase('Correct-Horse-9-Battery'))
  t.doesNotThrow(() => assertPassphrase('short', { policy: { minLength: 4, upper: false, digit: false, special: false } }), 'the policy is configurable')
})
