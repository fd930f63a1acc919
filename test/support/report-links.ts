import { deriveReportLinkKeys, ReportLinks } from '../../lambdas/core/report-token';

/** A fixed link key for unit tests (never a deployed one). */
export const TEST_REPORT_LINK_KEY = 'test-report-link-key-0123456789abcdef';

/** Real link makers over a test key and an unreachable page, for dispatcher contexts in unit tests. */
export function testReportLinks(baseUrl = 'https://not-for-me.example.org'): ReportLinks {
  return new ReportLinks(deriveReportLinkKeys(TEST_REPORT_LINK_KEY), baseUrl);
}
