// users-api: the platform's users API as an Alternate Futures function (runtime contract v1).
// The runtime serves it at https://users.af-functions.dev; the Function's routes send
// /api/users/* to the users service and everything else to the default backend, and the
// runtime answers the rollout's health path (/api/users/health) itself.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/api/users/health") {
      return Response.json({ status: "ok" });
    }
    return Response.json({
      service: "users-api",
      path: url.pathname,
      logLevel: env.LOG_LEVEL ?? "info",
    });
  },
};
