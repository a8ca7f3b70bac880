/**
 * What `ringstack up` prints: the next commands, with the options that make them find this
 * stack when it runs off its defaults (a new user copies these lines as they are).
 */
import t from 'tap';
import { DEFAULT_DATA_DIR, nextSteps, type RunningStack } from './stack.js';

function stack(dataDir: string, storeUrl: string, controllerUrl: string): RunningStack {
  return {
    dataDir,
    store: { url: storeUrl } as RunningStack['store'],
    controller: { url: controllerUrl } as RunningStack['controller'],
    agent: { agent: {} } as RunningStack['agent'],
    credentials: { accessKey: 'AK', secretKey: 'SK', file: `${dataDir}/store/credentials.json` },
    gitToken: 'tok',
    gitUrl: `${controllerUrl}/git/infra.git`,
    libvirtUri: 'qemu:///system',
    notices: [],
    stop: async () => {},
  };
}

t.test('on the defaults the commands need no options', async (t) => {
  const out = nextSteps(stack(DEFAULT_DATA_DIR, 'http://127.0.0.1:8080', 'http://127.0.0.1:8081'));
  t.match(out, /^ {2}examples\/make-image\.sh {4}# the examples' image$/m);
  t.match(out, /^ {2}git remote add ringstack http:\/\/ringstack:tok@127\.0\.0\.1:8081\/git\/infra\.git$/m);
  t.match(out, /^ {2}ringstack status instances$/m);
  t.notMatch(out, /--data-dir|--endpoint|--controller/);
});

t.test('another data dir and ports are passed on to the commands that need them', async (t) => {
  const out = nextSteps(stack('/tmp/newuser', 'http://127.0.0.1:35159', 'http://127.0.0.1:34499'));
  t.match(out, /^ {2}examples\/make-image\.sh --data-dir \/tmp\/newuser --endpoint http:\/\/127\.0\.0\.1:35159 /m);
  t.match(out, /give "ringstack image push" the same options/);
  t.match(out, /^ {2}ringstack status instances --controller http:\/\/127\.0\.0\.1:34499$/m);
  t.match(out, /git remote add ringstack http:\/\/ringstack:tok@127\.0\.0\.1:34499\/git\/infra\.git/);
});
