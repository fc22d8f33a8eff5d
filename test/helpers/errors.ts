// What a query promise rejected with (the server's or Meridian's error), or null when it succeeded.

export async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string } | null> {
  return p.then(
    () => null,
    (e: { code?: string; message: string }) => e,
  );
}
