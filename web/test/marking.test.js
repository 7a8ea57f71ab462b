import assert from "node:assert/strict";
import { test } from "node:test";
import { bannerClass, markingQuery } from "../src/marking.js";

test("banner colour by classification", () => {
  assert.equal(bannerClass("SECRET//NOFORN"), "banner-s");
  assert.equal(bannerClass("TOP SECRET//REL TO USA, GBR"), "banner-ts");
  assert.equal(bannerClass("CONFIDENTIAL//REL TO IND, USA"), "banner-c");
  assert.equal(bannerClass("UNCLASSIFIED"), "banner-u");
  assert.equal(bannerClass("GEHEIM"), "banner-other");
  assert.equal(bannerClass(undefined), "banner-other");
});

test("markingQuery: each distinct marking once, sorted", () => {
  assert.equal(markingQuery(["SECRET", "CONFIDENTIAL", "SECRET"]), "of=CONFIDENTIAL&of=SECRET");
  assert.equal(markingQuery([]), "");
});
