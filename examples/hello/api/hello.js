// A Canvas server function: GET/POST /functions/hello. It ships in source_files and runs
// on Mixpeek (the local emulator does not run server functions).
export default async function handler(ctx) {
  const name = ctx.req.query.name || "world";
  return { status: 200, body: { message: `Hello, ${name}!` } };
}
