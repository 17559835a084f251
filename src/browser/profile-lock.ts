import { readlink, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

const SINGLETON_FILES = ["SingletonLock", "SingletonSocket", "SingletonCookie"];

/**
 * Chromium locks a profile with a `SingletonLock` symlink to `<host>-<pid>`. It clears a stale
 * lock of its own host, but refuses one from another host: a profile copied to another
 * machine, or kept in a volume across container restarts (each gets a new hostname). Such a
 * lock cannot belong to a live browser here, so it goes. A lock of this host is left alone.
 */
export async function clearForeignProfileLock(profileDirectory: string): Promise<boolean> {
  let target: string;
  try {
    target = await readlink(join(profileDirectory, "SingletonLock"));
  } catch {
    return false;
  }
  const match = /^(.*)-(\d+)$/.exec(target);
  if (!match || match[1] === hostname()) return false;
  await Promise.all(SINGLETON_FILES.map((name) => rm(join(profileDirectory, name), { force: true })));
  return true;
}
