"""Swift API conformance probe: sends the same requests (listings in every format and with every
parameter, errors, ranges, conditionals, copy, expiry checks, SLO and DLO) to a Swift endpoint
and prints a normalised transcript (status, the headers that matter, body with dates and
multipart boundaries masked). Run it against OpenStack Swift and against ringstack and diff:

  export SWIFT_PROXY_PORT=8397 SWIFT_MEMCACHED_PORT=11397 SWIFT_LOG_UDP_PORT=11398 \
         SWIFT_NODE_PORTS="18401 18402 18403 18411 18412 18413 18421 18422 18423"
  bash test/support/swift-s3api/setup.sh /tmp/swiftcmp    # Debian's swift 2.30.1, as root
  bash test/support/swift-s3api/start.sh /tmp/swiftcmp    # stop.sh /tmp/swiftcmp afterwards
  node dist/objectstore/swift/test-server.js         # prints ringstack's URL
  python3 bench/objectstore/swift-api-compare.py http://127.0.0.1:8397 > real.txt
  python3 bench/objectstore/swift-api-compare.py <ringstack url> > mine.txt
  diff real.txt mine.txt

Expected differences: account listing counts (Swift updates them asynchronously), the case
of a metadata name in one error message, the manifest etag of an SLO (it covers times).
Needs user test:tester / testing.
"""
import http.client, json, sys, re, hashlib
from urllib.parse import urlparse
base = sys.argv[1]
u = urlparse(base)
def req(method, path, headers=None, body=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, data
s, h, _ = req('GET', '/auth/v1.0', {'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
surl = urlparse(h['x-storage-url']).path
T = {'X-Auth-Token': h['x-auth-token']}
KEEP = ['content-type', 'etag', 'content-length', 'content-range', 'x-container-object-count', 'x-container-bytes-used',
        'x-object-meta-color', 'x-static-large-object', 'x-object-manifest', 'accept-ranges', 'x-container-meta-a', 'www-authenticate', 'x-copied-from']
def show(label, method, path, headers=None, body=None, full=True):
    hh = dict(T); hh.update(headers or {})
    s, h, data = req(method, surl + path, hh, body)
    b = data.decode('utf-8', 'replace')
    b = re.sub(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+', 'DATE', b)
    b = re.sub(r'[0-9a-f]{32}(?=\r\n|--)', 'BOUNDARY', b)
    ct = h.get('content-type', '')
    ct = re.sub(r'boundary=[0-9a-f]+', 'boundary=B', ct)
    print('==', label, method, path, s)
    for k in KEEP:
        if k in h:
            print('  ', k, ':', ct if k == 'content-type' else h[k])
    if full: print('   body:', repr(b[:600]))
import uuid
C = 'cmp'
req('PUT', surl + '/' + C, T)
for n in ['a', 'b/1', 'b/2', 'b/3/x', 'c', 'caf\u00e9', 'd&<>']:
    from urllib.parse import quote
    req('PUT', surl + '/' + C + '/' + quote(n), dict(T, **{'Content-Type': 'text/x-test'}), n.encode())
show('plain', 'GET', '/cmp')
show('json', 'GET', '/cmp?format=json')
show('xml', 'GET', '/cmp?format=xml')
show('accept xml', 'GET', '/cmp', {'Accept': 'text/xml'})
show('accept bad', 'GET', '/cmp', {'Accept': 'image/png'})
show('delim', 'GET', '/cmp?delimiter=/&format=json')
show('delim xml', 'GET', '/cmp?delimiter=/&format=xml')
show('prefix delim', 'GET', '/cmp?prefix=b/&delimiter=/')
show('reverse marker', 'GET', '/cmp?reverse=on&marker=b/2')
show('limit over', 'GET', '/cmp?limit=10001')
show('limit bad', 'GET', '/cmp?limit=abc')
show('empty plain', 'GET', '/cmp?prefix=zzz')
show('empty json', 'GET', '/cmp?prefix=zzz&format=json')
show('empty xml', 'GET', '/cmp?prefix=zzz&format=xml')
show('head container', 'HEAD', '/cmp')
show('head container json', 'HEAD', '/cmp?format=json')
show('acct xml', 'GET', '?format=xml&prefix=cm')
show('acct json', 'GET', '?format=json&prefix=cm')
show('delete nonempty', 'DELETE', '/cmp')
show('get missing', 'GET', '/cmp/nope')
show('head missing', 'HEAD', '/cmp/nope')
show('put 422', 'PUT', '/cmp/x', {'ETag': '0'*32}, b'abc')
show('put nocontainer', 'PUT', '/nocontainer/x', {}, b'abc')
show('long name', 'PUT', '/cmp/' + 'o'*1025, {}, b'abc')
show('long container', 'PUT', '/' + 'c'*257)
show('put', 'PUT', '/cmp/obj', {'X-Object-Meta-Color': 'red', 'Content-Type': 'text/plain'}, b'The quick brown fox jumps over the lazy dog')
show('get', 'GET', '/cmp/obj')
show('range', 'GET', '/cmp/obj', {'Range': 'bytes=4-8'})
show('range suffix', 'GET', '/cmp/obj', {'Range': 'bytes=-3'})
show('range 416', 'GET', '/cmp/obj', {'Range': 'bytes=1000-'})
show('range bad', 'GET', '/cmp/obj', {'Range': 'bytes=8-4'}, full=False)
show('range multi', 'GET', '/cmp/obj', {'Range': 'bytes=0-2,-3'})
show('range multi partial', 'GET', '/cmp/obj', {'Range': 'bytes=0-2,1000-2000'})
show('if-match bad', 'GET', '/cmp/obj', {'If-Match': 'nope'})
show('if-none-match', 'GET', '/cmp/obj', {'If-None-Match': '"9e107d9d372bb6826bd81d3542a419d6"'})
show('ims', 'GET', '/cmp/obj', {'If-Modified-Since': 'Thu, 01 Jan 2099 00:00:00 GMT'})
show('ius', 'GET', '/cmp/obj', {'If-Unmodified-Since': 'Thu, 01 Jan 1990 00:00:00 GMT'})
show('post', 'POST', '/cmp/obj', {'X-Object-Meta-Size': 'big'})
show('head after post', 'HEAD', '/cmp/obj')
show('copy', 'COPY', '/cmp/obj', {'Destination': 'cmp/obj2'})
show('copy no dest', 'COPY', '/cmp/obj')
show('copy bad dest', 'COPY', '/cmp/obj', {'Destination': 'nocontainer'})
show('delete at past', 'PUT', '/cmp/p', {'X-Delete-At': '1000'}, b'x')
show('delete after bad', 'PUT', '/cmp/p', {'X-Delete-After': 'soon'}, b'x')
show('ifnonematch put', 'PUT', '/cmp/obj', {'If-None-Match': '*'}, b'x')
show('ifnonematch put bad', 'PUT', '/cmp/obj', {'If-None-Match': 'abc'}, b'x')
show('meta too long', 'PUT', '/cmp/m', {'X-Object-Meta-Big': 'v'*257}, b'x')
# SLO
req('PUT', surl + '/segs', T)
for i, seg in enumerate([b'a'*10, b'b'*10, b'c'*5]):
    req('PUT', surl + '/segs/part/%d' % i, T, seg)
md5 = lambda b: hashlib.md5(b).hexdigest()
man = json.dumps([{'path': '/segs/part/%d' % i, 'etag': md5(s), 'size_bytes': len(s)} for i, s in enumerate([b'a'*10, b'b'*10, b'c'*5])])
show('slo put', 'PUT', '/cmp/slo?multipart-manifest=put', {'Content-Type': 'text/x-big'}, man.encode())
show('slo get', 'GET', '/cmp/slo')
show('slo head', 'HEAD', '/cmp/slo')
show('slo range', 'GET', '/cmp/slo', {'Range': 'bytes=8-21'})
show('slo manifest', 'GET', '/cmp/slo?multipart-manifest=get')
show('slo manifest raw', 'GET', '/cmp/slo?multipart-manifest=get&format=raw')
show('slo listing', 'GET', '/cmp?prefix=slo&format=json')
show('slo bad json', 'PUT', '/cmp/m?multipart-manifest=put', {}, b'not json')
show('slo not list', 'PUT', '/cmp/m?multipart-manifest=put', {}, b'{}')
show('slo size mismatch', 'PUT', '/cmp/m?multipart-manifest=put', {}, json.dumps([{'path': '/segs/part/0', 'size_bytes': 11}]).encode())
show('slo etag mismatch+missing', 'PUT', '/cmp/m?multipart-manifest=put', {}, json.dumps([{'path': '/segs/part/0', 'etag': 'nope'}, {'path': '/segs/missing'}]).encode())
show('slo extraneous', 'PUT', '/cmp/m?multipart-manifest=put', {}, json.dumps([{'path': '/segs/part/0', 'bogus': 1}]).encode())
show('slo ranges', 'PUT', '/cmp/r?multipart-manifest=put', {}, json.dumps([{'path': '/segs/part/0', 'range': '2-4'}, {'path': '/segs/part/1', 'range': '-3'}, {'path': '/segs/part/2'}]).encode())
show('slo ranges get', 'GET', '/cmp/r')
show('slo 422', 'PUT', '/cmp/m?multipart-manifest=put', {'ETag': 'x'}, man.encode())
show('dlo put', 'PUT', '/cmp/dlo', {'X-Object-Manifest': 'segs/part/'}, b'')
show('dlo get', 'GET', '/cmp/dlo')
show('dlo range', 'GET', '/cmp/dlo', {'Range': 'bytes=5-14'})
show('dlo bad', 'PUT', '/cmp/dlo2', {'X-Object-Manifest': 'noslash'}, b'')
show('slo delete', 'DELETE', '/cmp/slo?multipart-manifest=delete')

show('container put again', 'PUT', '/cmp')
show('container post', 'POST', '/cmp', {'X-Container-Meta-A': '1'})
show('container head meta', 'HEAD', '/cmp')
show('container remove meta', 'POST', '/cmp', {'X-Remove-Container-Meta-A': 'x'})
show('container head meta2', 'HEAD', '/cmp')
show('limit 0', 'GET', '/cmp?limit=0')
show('end_marker', 'GET', '/cmp?end_marker=b/2')
show('reverse end', 'GET', '/cmp?reverse=true&end_marker=b/2')
show('x-copy-from', 'PUT', '/cmp/xc', {'X-Copy-From': '/cmp/obj', 'X-Object-Meta-Color': 'blue'}, b'')
show('x-copy-from get', 'HEAD', '/cmp/xc')
show('x-copy-from missing', 'PUT', '/cmp/xc2', {'X-Copy-From': '/cmp/nope'}, b'')
show('x-copy-from bad', 'PUT', '/cmp/xc2', {'X-Copy-From': 'nope'}, b'')
show('post ct', 'POST', '/cmp/obj', {'Content-Type': 'text/x-new'})
show('head ct', 'HEAD', '/cmp/obj')
show('zero-length range', 'GET', '/cmp/empty')
req('PUT', surl + '/cmp/empty', T, b'')
show('empty range', 'GET', '/cmp/empty', {'Range': 'bytes=0-'})
show('get empty', 'GET', '/cmp/empty')
show('delete missing', 'DELETE', '/cmp/nope')
show('post missing', 'POST', '/cmp/nope', {'X-Object-Meta-A': 'b'})
show('container missing head', 'HEAD', '/nope')
show('container missing get', 'GET', '/nope')
show('container missing post', 'POST', '/nope')
show('account head', 'HEAD', '')
show('account post', 'POST', '', {'X-Account-Meta-Z': 'z'})
show('bad delimiter', 'GET', '/cmp?delimiter=ab')
show('utf8 listing', 'GET', '/cmp?prefix=caf')

show('acct put', 'PUT', '')
show('no token', 'HEAD', '', {'X-Auth-Token': ''})
# cleanup
s, h, data = req('GET', surl + '/cmp', T)
for n in data.decode().splitlines():
    req('DELETE', surl + '/cmp/' + quote(n), T)
req('DELETE', surl + '/cmp', T)
s, h, data = req('GET', surl + '/segs', T)
for n in data.decode().splitlines():
    req('DELETE', surl + '/segs/' + quote(n), T)
req('DELETE', surl + '/segs', T)
