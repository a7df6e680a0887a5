/** Request counts the benchmarks and budget tests read from `GET /_sim/stats`. */
export class RequestStats {
  total = 0;
  byEndpoint: Record<string, number> = {};
  byCredential: Record<string, number> = {};
  byStatus: Record<string, number> = {};

  record(endpoint: string, credentialId: string | undefined, status: number): void {
    this.total++;
    this.byEndpoint[endpoint] = (this.byEndpoint[endpoint] ?? 0) + 1;
    const who = credentialId ?? "anonymous";
    this.byCredential[who] = (this.byCredential[who] ?? 0) + 1;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
  }

  reset(): void {
    this.total = 0;
    this.byEndpoint = {};
    this.byCredential = {};
    this.byStatus = {};
  }

  snapshot() {
    return {
      total: this.total,
      byEndpoint: this.byEndpoint,
      byCredential: this.byCredential,
      byStatus: this.byStatus,
    };
  }
}
