"""The seed's service as its story describes it (../shared/seed/000_72168e7328dfffa2.txt):
FastAPI on uvicorn, a tenant middleware that takes the Bearer token, verifies it
with PyJWT against BETTER_AUTH_SECRET (signature on, as the story asks for
production), puts workspace_id on request.state, and answers 403 for a bad or
expired token. /me (not in the story) returns that tenant context behind a 401,
so that it is comparable with our /me. A benchmark anchor only.

    BETTER_AUTH_SECRET=... python -m uvicorn seed_app:app --app-dir bench/anchors --port 7777
"""
import os

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware

SECRET = os.environ["BETTER_AUTH_SECRET"]


class TenantMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        request.state.user_id = None
        request.state.workspace_id = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            try:
                claims = jwt.decode(auth[7:], SECRET, algorithms=["HS256"])
            except jwt.ExpiredSignatureError:
                return JSONResponse({"error": "TOKEN_EXPIRED"}, status_code=403)
            except jwt.InvalidTokenError:
                return JSONResponse({"error": "INVALID_TOKEN"}, status_code=403)
            request.state.user_id = claims.get("sub")
            request.state.workspace_id = claims.get("workspaceId")
        return await call_next(request)


app = FastAPI(title="AgentOS", version="0.1.0")
app.add_middleware(TenantMiddleware)


@app.get("/health")
async def health_check():
    return {"status": "ok", "version": "0.1.0"}


@app.get("/me")
async def me(request: Request):
    if request.state.user_id is None:
        return JSONResponse({"error": "UNAUTHORIZED"}, status_code=401)
    return {"user_id": request.state.user_id, "workspace_id": request.state.workspace_id}
