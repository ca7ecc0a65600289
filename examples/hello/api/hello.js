// A Canvas server function: GET/POST /functions/hello. It ships in source_files and runs on
// Canvas; `mixpeek dev` and the local emulator run it too, in Node.
export default async function handler(ctx) {
  const name = ctx.req.query.name || ctx.req.body?.name || "world";
  // ctx.kv keeps strings between requests (30 days, unless set with a TTL in seconds):
  // on Canvas per app and environment, under `mixpeek dev` in .mixpeek/kv.json.
  const count = Number((await ctx.kv.get("hello:count")) ?? 0) + 1;
  await ctx.kv.set("hello:count", String(count));
  return { status: 200, body: { message: `Hello, ${name}!`, count } };
}
