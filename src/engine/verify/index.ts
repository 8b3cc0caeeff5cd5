export { isSuiteDocument, verifySuites, type CaseResult, type SuiteResult, type TestResult, type VerifyOptions } from './run-suites.js';
import { parseYamlFileAs } from '../repo/yaml-file.js';
import { isSuiteDocument } from './run-suites.js';

/** Whether a YAML file's text holds a gator Suite. */
export function isSuiteFile(text: string): boolean {
  return parseYamlFileAs('suite', text, 'kyaml').documents.some((doc) => isSuiteDocument(doc.value));
}
