import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createReplicaBalancer } from "../../../src/scheduling/external/replica-balancer.ts";

const all = () => true;

/** A balancer over `names`, all up. */
function upBalancer(...names: string[]) {
  const balancer = createReplicaBalancer(names);
  for (const name of names) balancer.markUp(name);
  return balancer;
}

describe("replica balancer", () => {
  it("sends each request to the replica with the fewest outstanding requests", () => {
    const balancer = upBalancer("a", "b", "c");
    const endA = balancer.begin("a");
    balancer.begin("a");
    balancer.begin("b");
    assert.equal(balancer.pick(all), "c");
    balancer.begin("c");
    balancer.begin("c");
    assert.equal(balancer.pick(all), "b", "b has 1, a and c have 2");
    endA();
    endA(); // ending twice counts once
    assert.deepEqual(balancer.health("a"), { up: true, outstanding: 1, lastError: "not checked yet" });
    assert.equal(balancer.pick(all), "a", "a and b both have 1; a was picked longer ago (never)");
  });

  it("breaks ties by taking turns, so sequential requests alternate", () => {
    const balancer = upBalancer("a", "b", "c");
    const picks = Array.from({ length: 6 }, () => {
      const replica = balancer.pick(all)!;
      balancer.begin(replica)(); // a request that starts and ends before the next
      return replica;
    });
    assert.deepEqual(picks, ["a", "b", "c", "a", "b", "c"]);
  });

  it("skips replicas that are down, excluded, or do not serve the model", () => {
    const balancer = upBalancer("a", "b", "c");
    balancer.markDown("a", "connect ECONNREFUSED");
    assert.equal(balancer.pick(all, new Set(["b"])), "c");
    assert.equal(balancer.pick((replica) => replica !== "c", new Set(["b"])), undefined);
    assert.equal(balancer.pick((replica) => replica === "b"), "b");
  });

  it("follows health transitions: starts down, up after a check, down with its reason, up again", () => {
    const balancer = createReplicaBalancer(["a", "b"]);
    assert.equal(balancer.pick(all), undefined, "nothing is up before the first check");
    balancer.markUp("b");
    assert.equal(balancer.pick(all), "b");
    balancer.markUp("a");
    balancer.begin("b");
    assert.equal(balancer.pick(all), "a");
    balancer.markDown("a", "other side closed");
    assert.deepEqual(balancer.health("a"), { up: false, outstanding: 0, lastError: "other side closed" });
    assert.equal(balancer.pick(all), "b", "a down: b despite its outstanding request");
    balancer.markDown("b", "connect ECONNREFUSED");
    assert.equal(balancer.pick(all), undefined, "all down");
    balancer.markUp("a");
    assert.equal(balancer.pick(all), "a");
    assert.equal(balancer.health("a").lastError, "other side closed", "the last failure stays on record");
  });

  it("keeps counting a request on a replica that went down meanwhile", () => {
    const balancer = upBalancer("a", "b");
    const end = balancer.begin("a");
    balancer.markDown("a", "reset");
    balancer.markUp("a");
    assert.equal(balancer.pick(all), "b", "a still has its request");
    end();
    assert.equal(balancer.health("a").outstanding, 0);
  });

  it("refuses a replica it does not know", () => {
    const balancer = upBalancer("a");
    assert.throws(() => balancer.begin("z"), /not a replica/);
  });
});
