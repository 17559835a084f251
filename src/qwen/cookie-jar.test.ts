import { describe, expect, it } from "vitest";
import { CookieJar, parseCookieHeader } from "./cookie-jar.js";

describe("an account's cookie jar", () => {
  it("keeps what Set-Cookie says, replaces values, and drops expired cookies", () => {
    const jar = new CookieJar({ cna: "pasted" });
    jar.applySetCookie([
      "acw_tc=abc; Path=/; HttpOnly; Max-Age=1800",
      "cna=fresh; Domain=.qwen.ai; Expires=Wed, 01 Jan 2031 00:00:00 GMT",
    ]);
    expect(jar.toRecord()).toEqual({ cna: "fresh", acw_tc: "abc" });
    jar.applySetCookie(["acw_tc=; Max-Age=0", "cna=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
    expect(jar.toRecord()).toEqual({});
  });

  it("never takes the token from a cookie, and ignores malformed lines", () => {
    const jar = new CookieJar({ token: "from-paste" });
    jar.applySetCookie(["token=from-upstream; Path=/", "=nameless", "no equals sign", "bad name=1"]);
    expect(jar.toRecord()).toEqual({});
  });
});

describe("a pasted Cookie header", () => {
  it("splits the token from the other cookies, with or without the header's name", () => {
    expect(parseCookieHeader("Cookie: cna=a1; ssxmod_itna=b=2; token=eyJ.x.y; qwen-locale=en-US")).toEqual({
      token: "eyJ.x.y",
      cookies: { cna: "a1", ssxmod_itna: "b=2", "qwen-locale": "en-US" },
    });
    expect(parseCookieHeader("cna=a1")).toEqual({ cookies: { cna: "a1" } });
  });
});
