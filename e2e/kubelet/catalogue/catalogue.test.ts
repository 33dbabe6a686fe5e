// Unit tests: catalogue matching by repository, and Kubernetes' command/args rules over an image's program.
import { describe, expect, it } from 'vitest';
import { KubeletError } from '../errors.ts';
import { containerArgv, ImageCatalogue, type CatalogueEntry, type ImageProgram } from './catalogue.ts';
import { defaultCatalogue, pinnedNode, programPath } from './index.ts';

const ECHO: CatalogueEntry = {
  repositories: ['example.com/echo'],
  program: { command: ['/opt/echo', '--serve'], defaultArgs: ['--port', '8080'] },
  description: 'echo',
};
const SHELL: CatalogueEntry = {
  repositories: ['busybox'],
  program: { command: ['/bin/sh', '/shim'], defaultArgs: ['sh'], shim: ['/bin/sh', '/shim'] },
  description: 'shell',
};

describe('ImageCatalogue', () => {
  const catalogue = new ImageCatalogue([ECHO, SHELL]);

  it.each([
    'busybox',
    'busybox:1.36',
    'docker.io/library/busybox:latest',
    `busybox@sha256:${'0'.repeat(64)}`,
  ])('matches %s by repository, whatever the tag', (image) => {
    expect(catalogue.resolve(image)?.program).toBe(SHELL.program);
  });

  it('reports the normalised image and a stable image ID', () => {
    const a = catalogue.resolve('example.com/echo:v1');
    const b = catalogue.resolve('example.com/echo:v2');
    expect(a?.image).toBe('example.com/echo:v1');
    expect(a?.imageID).toMatch(/^example\.com\/echo@sha256:[0-9a-f]{64}$/);
    expect(a?.imageID).toBe(b?.imageID);
  });

  it('does not match other repositories or other registries', () => {
    expect(catalogue.resolve('example.com/echo-v2')).toBeUndefined();
    expect(catalogue.resolve('quay.io/library/busybox')).toBeUndefined();
    expect(catalogue.resolve('not a ref')).toBeUndefined();
  });

  it('names the image and the known repositories when an image is missing', () => {
    const err = (() => {
      try {
        catalogue.require('ghcr.io/acme/app:1');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KubeletError);
    expect(err).toMatchObject({ code: 'ERR_IMAGE_NOT_IN_CATALOGUE' });
    expect((err as Error).message).toContain('"ghcr.io/acme/app:1"');
    expect((err as Error).message).toContain('docker.io/library/busybox, example.com/echo');
  });

  it('lets a later entry override a repository', () => {
    const other: CatalogueEntry = { ...ECHO, program: { command: ['/opt/other'] } };
    expect(catalogue.with(other).resolve('example.com/echo')?.program.command).toEqual(['/opt/other']);
    expect(catalogue.resolve('example.com/echo')?.program.command).toEqual(['/opt/echo', '--serve']);
  });

  it('refuses relative program paths', () => {
    const bad: CatalogueEntry = { ...ECHO, program: { command: ['echo'] } };
    expect(() => new ImageCatalogue([bad])).toThrow(/absolute path/);
  });
});

describe('containerArgv', () => {
  const program: ImageProgram = ECHO.program;

  it('runs the entrypoint with the default args when the container sets neither', () => {
    expect(containerArgv(program, {})).toEqual({
      command: ['/opt/echo', '--serve'],
      args: ['--port', '8080'],
    });
  });

  it('replaces only the default args when the container sets args', () => {
    expect(containerArgv(program, { args: ['--port', '9090'] })).toEqual({
      command: ['/opt/echo', '--serve'],
      args: ['--port', '9090'],
    });
  });

  it('replaces entrypoint and default args when the container sets a command', () => {
    expect(containerArgv(program, { command: ['/bin/true'] })).toEqual({ command: ['/bin/true'], args: [] });
    expect(containerArgv(program, { command: ['/bin/echo'], args: ['hi'] })).toEqual({
      command: ['/bin/echo'],
      args: ['hi'],
    });
  });

  it('runs a container command through the image shim', () => {
    expect(containerArgv(SHELL.program, { command: ['/bin/sleep', 'infinity'] })).toEqual({
      command: ['/bin/sh', '/shim', '/bin/sleep', 'infinity'],
      args: [],
    });
    expect(containerArgv(SHELL.program, { args: ['sleep', '5'] })).toEqual({
      command: ['/bin/sh', '/shim'],
      args: ['sleep', '5'],
    });
  });

  it('escapes $ in the image parts only, so $(VAR) expansion leaves them alone', () => {
    const dollar: ImageProgram = { command: ['/opt/$(HOME)'], defaultArgs: ['$(X)'] };
    expect(containerArgv(dollar, {})).toEqual({ command: ['/opt/$$(HOME)'], args: ['$$(X)'] });
    expect(containerArgv(dollar, { args: ['$(X)'] }).args).toEqual(['$(X)']);
  });
});

describe('defaultCatalogue', () => {
  const catalogue = defaultCatalogue();

  it('runs echo programs with the pinned node, not the system one', () => {
    const echo = catalogue.resolve('ambit/echo-http:latest');
    expect(echo?.program.command).toEqual([pinnedNode(), programPath('echo-http.ts')]);
    expect(pinnedNode()).toMatch(/node_modules\/node\/bin\/node$/);
    expect(catalogue.resolve('ambit/echo-tcp')?.program.command[1]).toBe(programPath('echo-tcp.ts'));
  });

  it('gives curl and busybox the shell shim', () => {
    const curl = catalogue.resolve('docker.io/curlimages/curl:8.16.0');
    expect(containerArgv(curl?.program ?? { command: [] }, {})).toEqual({
      command: ['/bin/sh', programPath('image-shim.sh'), '--default', 'curl'],
      args: ['curl'],
    });
    const busybox = catalogue.resolve('busybox:1.36');
    expect(containerArgv(busybox?.program ?? { command: [] }, { command: ['sleep', '3600'] })).toEqual({
      command: ['/bin/sh', programPath('image-shim.sh'), 'sleep', '3600'],
      args: [],
    });
  });
});

describe('the bookinfo images', () => {
  it.each([
    ['registry.istio.io/release/examples-bookinfo-productpage-v1:1.20.3', 'productpage'],
    ['docker.io/istio/examples-bookinfo-reviews-v2:1.20.3', 'reviews-v2'],
    ['registry.istio.io/release/examples-bookinfo-ratings-v1:1.20.3', 'ratings'],
  ])('%s runs bookinfo.ts %s', (image, role) => {
    const resolved = defaultCatalogue().resolve(image);
    expect(resolved?.program.command).toEqual([pinnedNode(), programPath('bookinfo.ts')]);
    expect(resolved?.program.defaultArgs).toEqual([role]);
  });
});
