"""Exercises the Swift front end through python-swiftclient's library (swiftclient.client).

Usage: /usr/bin/python3 swiftclient-library.py <auth url> <user> <key>
Prints one line per check and "ALL OK" at the end; any failure raises (exit status 1).
"""
import hashlib
import sys

from swiftclient import client as c
from swiftclient.exceptions import ClientException

auth, user, key = sys.argv[1:4]


def check(name, cond, detail=''):
    if not cond:
        raise AssertionError('%s failed %s' % (name, detail))
    print('ok', name)


url, token = c.get_auth(auth, user, key)
check('storage url', url.endswith('/v1/AUTH_test'), url)

caps = c.Connection(auth, user, key).get_capabilities()
check('capabilities', caps['swift']['max_object_name_length'] == 1024 and 'slo' in caps)

c.put_container(url, token, 'lib', headers={'X-Container-Meta-Purpose': 'library'})
hdrs = c.head_container(url, token, 'lib')
check('container meta', hdrs.get('x-container-meta-purpose') == 'library', hdrs)


def chunks():
    for i in range(8):
        yield bytes([65 + i]) * 65536


data = b''.join(chunks())
etag = c.put_object(url, token, 'lib', 'chunked.bin', contents=chunks())
check('chunked upload etag', etag == hashlib.md5(data).hexdigest(), etag)

etag = c.put_object(url, token, 'lib', 'sized.txt', contents=b'sized body', content_length=10,
                    content_type='text/x-sized', headers={'X-Object-Meta-Kind': 'sized'})
check('sized upload etag', etag == hashlib.md5(b'sized body').hexdigest())

hdrs, body = c.get_object(url, token, 'lib', 'chunked.bin')
check('download', body == data and hdrs['content-length'] == str(len(data)))

hdrs, body = c.get_object(url, token, 'lib', 'chunked.bin', headers={'Range': 'bytes=65530-65541'})
check('range', body == b'A' * 6 + b'B' * 6 and hdrs['content-range'] == 'bytes 65530-65541/%d' % len(data), hdrs)

hdrs, it = c.get_object(url, token, 'lib', 'chunked.bin', resp_chunk_size=10000)
got = b''.join(it)
check('streamed download', got == data)

c.post_object(url, token, 'lib', 'sized.txt', headers={'X-Object-Meta-Color': 'green'})
hdrs = c.head_object(url, token, 'lib', 'sized.txt')
check('post replaces meta', hdrs.get('x-object-meta-color') == 'green' and 'x-object-meta-kind' not in hdrs, hdrs)
check('content type kept', hdrs['content-type'] == 'text/x-sized', hdrs)

for i in range(25):
    c.put_object(url, token, 'lib', 'many/%02d' % i, contents=b'%d' % i)
hdrs, listing = c.get_container(url, token, 'lib', prefix='many/', limit=10)
check('limit', [o['name'] for o in listing] == ['many/%02d' % i for i in range(10)])
hdrs, listing = c.get_container(url, token, 'lib', prefix='many/', full_listing=True, limit=7)
check('full listing pages with marker', len(listing) == 25, len(listing))
hdrs, listing = c.get_container(url, token, 'lib', delimiter='/')
check('delimiter', [o.get('name', o.get('subdir')) for o in listing] == ['chunked.bin', 'many/', 'sized.txt'], listing)
check('container counts', hdrs['x-container-object-count'] == '27', hdrs)

c.copy_object(url, token, 'lib', 'sized.txt', destination='/lib/copied.txt')
hdrs, body = c.get_object(url, token, 'lib', 'copied.txt')
check('copy', body == b'sized body' and hdrs.get('x-object-meta-color') == 'green')

try:
    c.delete_container(url, token, 'lib')
    check('409 on non-empty container', False)
except ClientException as e:
    check('409 on non-empty container', e.http_status == 409, e.http_status)

try:
    c.get_object(url, token, 'lib', 'nope')
    check('404', False)
except ClientException as e:
    check('404', e.http_status == 404)

try:
    c.put_object(url, token, 'lib', 'bad', contents=b'abc', etag='0' * 32)
    check('422 on bad etag', False)
except ClientException as e:
    check('422 on bad etag', e.http_status == 422)

try:
    c.head_account(url, 'AUTH_tkforged.x')
    check('401 on bad token', False)
except ClientException as e:
    check('401 on bad token', e.http_status == 401)

hdrs, containers = c.get_account(url, token)
check('account listing', [x['name'] for x in containers] == ['lib'] and containers[0]['count'] == 28, containers)

for o in c.get_container(url, token, 'lib', full_listing=True)[1]:
    c.delete_object(url, token, 'lib', o['name'])
c.delete_container(url, token, 'lib')
check('cleanup', c.get_account(url, token)[1] == [])
print('ALL OK')
