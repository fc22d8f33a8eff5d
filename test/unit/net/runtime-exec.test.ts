// --runtime and MERIDIAN_RUNTIME: the flag is taken out of the arguments, wins over the variable,
// and anything but node or bun is an error.

import { describe, expect, it } from 'vitest';
import { chooseRuntime } from '../../../src/net/runtime-exec.js';

describe('chooseRuntime', () => {
  it('takes --runtime X and --runtime=X out of the arguments', () => {
    expect(chooseRuntime(['--runtime', 'bun', '--config', 'm.yaml'], {})).toEqual({ runtime: 'bun', args: ['--config', 'm.yaml'], error: null });
    expect(chooseRuntime(['--config', 'm.yaml', '--runtime=node'], {})).toEqual({ runtime: 'node', args: ['--config', 'm.yaml'], error: null });
  });

  it('MERIDIAN_RUNTIME applies without the flag; the flag wins over it; empty means stay', () => {
    expect(chooseRuntime(['--config', 'm.yaml'], { MERIDIAN_RUNTIME: 'bun' }).runtime).toBe('bun');
    expect(chooseRuntime(['--runtime', 'node'], { MERIDIAN_RUNTIME: 'bun' }).runtime).toBe('node');
    expect(chooseRuntime(['--config', 'm.yaml'], { MERIDIAN_RUNTIME: '' }).runtime).toBeNull();
    expect(chooseRuntime(['--config', 'm.yaml'], {}).runtime).toBeNull();
  });

  it('refuses other names', () => {
    expect(chooseRuntime(['--runtime', 'deno'], {}).error).toBe('--runtime must be node or bun, not "deno"');
    expect(chooseRuntime([], { MERIDIAN_RUNTIME: 'java' }).error).toBe('MERIDIAN_RUNTIME must be node or bun, not "java"');
    expect(chooseRuntime(['--runtime'], {}).error).toBe('--runtime must be node or bun, not ""');
  });
});
