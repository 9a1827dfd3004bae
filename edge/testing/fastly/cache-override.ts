// Test fake for `fastly:cache-override`: keeps the mode and options so a test can read them back.

export type CacheOverrideMode = 'none' | 'pass' | 'override';

export interface CacheOverrideInit {
  ttl?: number;
  swr?: number;
  surrogateKey?: string;
  pci?: boolean;
}

export class CacheOverride {
  mode: CacheOverrideMode;
  ttl?: number;
  swr?: number;
  surrogateKey?: string;
  pci?: boolean;

  constructor(mode: CacheOverrideMode = 'override', init: CacheOverrideInit = {}) {
    this.mode = mode;
    Object.assign(this, init);
  }
}
