/**
 * Storage pool and volume procedures of libvirt's remote program, typed: pools (define, build,
 * start, stop, undefine, look up, refresh, info, XML, listing, autostart) and volumes (create,
 * look up, info, XML, path, delete, resize, and upload of bytes through an RPC stream).
 */
import type { RpcClient } from './rpc-client.js';
import { Procedure } from './protocol.js';
import {
  readStoragePool,
  readStorageVol,
  writeStoragePool,
  writeStorageVol,
  type RemoteStoragePool,
  type RemoteStorageVol,
} from './xdr.js';

/** STORAGE_POOL_GET_INFO's answer; sizes in bytes. */
export interface PoolInfoRet {
  /** virStoragePoolState (see StoragePoolStateCode). */
  state: number;
  capacity: number;
  allocation: number;
  available: number;
}

/** STORAGE_VOL_GET_INFO's answer; sizes in bytes. */
export interface VolInfoRet {
  /** virStorageVolType: 0 file, 1 block, 2 dir, 3 network, 4 netdir, 5 ploop. */
  type: number;
  capacity: number;
  allocation: number;
}

export class StorageCalls {
  constructor(private readonly rpc: RpcClient) {}

  async poolDefineXml(xml: string): Promise<RemoteStoragePool> {
    const r = await this.rpc.call(Procedure.STORAGE_POOL_DEFINE_XML, (w) => w.string(xml).uint(0));
    return readStoragePool(r);
  }

  /** Builds the pool's backing storage (for a dir pool: creates the directory). */
  async poolBuild(pool: RemoteStoragePool, flags = 0): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_POOL_BUILD, (w) => {
      writeStoragePool(w, pool);
      w.uint(flags);
    });
  }

  async poolCreate(pool: RemoteStoragePool, flags = 0): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_POOL_CREATE, (w) => {
      writeStoragePool(w, pool);
      w.uint(flags);
    });
  }

  async poolDestroy(pool: RemoteStoragePool): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_POOL_DESTROY, (w) => writeStoragePool(w, pool));
  }

  async poolUndefine(pool: RemoteStoragePool): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_POOL_UNDEFINE, (w) => writeStoragePool(w, pool));
  }

  async poolLookupByName(name: string): Promise<RemoteStoragePool> {
    return readStoragePool(await this.rpc.call(Procedure.STORAGE_POOL_LOOKUP_BY_NAME, (w) => w.string(name)));
  }

  /** Rescans the pool's volumes and sizes (needed after files change behind libvirt's back). */
  async poolRefresh(pool: RemoteStoragePool): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_POOL_REFRESH, (w) => {
      writeStoragePool(w, pool);
      w.uint(0);
    });
  }

  async poolGetInfo(pool: RemoteStoragePool): Promise<PoolInfoRet> {
    const r = await this.rpc.call(Procedure.STORAGE_POOL_GET_INFO, (w) => writeStoragePool(w, pool));
    return { state: r.uint(), capacity: r.uhyperNumber(), allocation: r.uhyperNumber(), available: r.uhyperNumber() };
  }

  async poolGetXmlDesc(pool: RemoteStoragePool, flags = 0): Promise<string> {
    const r = await this.rpc.call(Procedure.STORAGE_POOL_GET_XML_DESC, (w) => {
      writeStoragePool(w, pool);
      w.uint(flags);
    });
    return r.string();
  }

  async poolIsActive(pool: RemoteStoragePool): Promise<boolean> {
    const r = await this.rpc.call(Procedure.STORAGE_POOL_IS_ACTIVE, (w) => writeStoragePool(w, pool));
    return r.int() !== 0;
  }

  async poolSetAutostart(pool: RemoteStoragePool, autostart: boolean): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_POOL_SET_AUTOSTART, (w) => {
      writeStoragePool(w, pool);
      w.int(autostart ? 1 : 0);
    });
  }

  async poolGetAutostart(pool: RemoteStoragePool): Promise<boolean> {
    const r = await this.rpc.call(Procedure.STORAGE_POOL_GET_AUTOSTART, (w) => writeStoragePool(w, pool));
    return r.int() !== 0;
  }

  async listAllPools(flags = 0): Promise<RemoteStoragePool[]> {
    const r = await this.rpc.call(Procedure.CONNECT_LIST_ALL_STORAGE_POOLS, (w) => w.int(1).uint(flags));
    const pools = r.array(readStoragePool);
    r.uint();
    return pools;
  }

  async listAllVolumes(pool: RemoteStoragePool): Promise<RemoteStorageVol[]> {
    const r = await this.rpc.call(Procedure.STORAGE_POOL_LIST_ALL_VOLUMES, (w) => {
      writeStoragePool(w, pool);
      w.int(1).uint(0);
    });
    const vols = r.array(readStorageVol);
    r.uint();
    return vols;
  }

  async volCreateXml(pool: RemoteStoragePool, xml: string, flags = 0): Promise<RemoteStorageVol> {
    const r = await this.rpc.call(Procedure.STORAGE_VOL_CREATE_XML, (w) => {
      writeStoragePool(w, pool);
      w.string(xml).uint(flags);
    });
    return readStorageVol(r);
  }

  async volLookupByName(pool: RemoteStoragePool, name: string): Promise<RemoteStorageVol> {
    const r = await this.rpc.call(Procedure.STORAGE_VOL_LOOKUP_BY_NAME, (w) => {
      writeStoragePool(w, pool);
      w.string(name);
    });
    return readStorageVol(r);
  }

  async volLookupByPath(path: string): Promise<RemoteStorageVol> {
    return readStorageVol(await this.rpc.call(Procedure.STORAGE_VOL_LOOKUP_BY_PATH, (w) => w.string(path)));
  }

  async volGetInfo(vol: RemoteStorageVol): Promise<VolInfoRet> {
    const r = await this.rpc.call(Procedure.STORAGE_VOL_GET_INFO, (w) => writeStorageVol(w, vol));
    return { type: r.int(), capacity: r.uhyperNumber(), allocation: r.uhyperNumber() };
  }

  async volGetXmlDesc(vol: RemoteStorageVol): Promise<string> {
    const r = await this.rpc.call(Procedure.STORAGE_VOL_GET_XML_DESC, (w) => {
      writeStorageVol(w, vol);
      w.uint(0);
    });
    return r.string();
  }

  async volGetPath(vol: RemoteStorageVol): Promise<string> {
    return (await this.rpc.call(Procedure.STORAGE_VOL_GET_PATH, (w) => writeStorageVol(w, vol))).string();
  }

  async volDelete(vol: RemoteStorageVol, flags = 0): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_VOL_DELETE, (w) => {
      writeStorageVol(w, vol);
      w.uint(flags);
    });
  }

  /** Sets the volume's capacity in bytes (flags: StorageVolResizeFlags). */
  async volResize(vol: RemoteStorageVol, capacity: number, flags = 0): Promise<void> {
    await this.rpc.call(Procedure.STORAGE_VOL_RESIZE, (w) => {
      writeStorageVol(w, vol);
      w.uhyper(capacity).uint(flags);
    });
  }

  /**
   * Writes the bytes of `source` into the volume from `offset`; `length` 0 means "until the
   * source ends". Resolves once libvirtd has confirmed the end of the stream.
   */
  async volUpload(
    vol: RemoteStorageVol,
    source: AsyncIterable<Uint8Array>,
    offset = 0,
    length = 0,
  ): Promise<void> {
    await this.rpc.callWithUpload(
      Procedure.STORAGE_VOL_UPLOAD,
      (w) => {
        writeStorageVol(w, vol);
        w.uhyper(offset).uhyper(length).uint(0);
      },
      source,
    );
  }
}
