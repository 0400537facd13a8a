"""Staff accounts, console sessions and API keys on SQLAlchemy; mixed into SqlConversationStore."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from .credentials import DUMMY_HASH, hash_password, new_token, token_hash, verify_password
from .models import ApiKeyRow, StaffSessionRow, StaffUserRow, utcnow
from .records import STAFF_ROLES, ApiKey, StaffUser, aware, from_row

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
SEEN_EVERY_S = 15  # last_seen is written at most this often per user, not on every request


class StaffTables:
    """Needs `self.session` (a sessionmaker)."""

    session: object

    def add_user(self, tenant, username, password, role="agent", display_name="") -> StaffUser:
        if not USERNAME.match(username or ""):
            raise ValueError(f"user name {username!r} is not allowed: 2-64 letters, digits, '.', '_', '-' or '@'")
        if role not in STAFF_ROLES:
            raise ValueError(f"role must be agent or admin (got {role!r})")
        row = StaffUserRow(tenant_id=tenant, username=username, display_name=display_name[:120], role=role,
                           password_hash=hash_password(password), disabled=False, status="away")
        try:
            with self.session.begin() as s:
                s.add(row)
        except IntegrityError:
            raise ValueError(f"a user named {username!r} already exists") from None
        return from_row(StaffUser, row)

    def users(self, tenant) -> list[StaffUser]:
        with self.session() as s:
            rows = s.scalars(select(StaffUserRow).where(StaffUserRow.tenant_id == tenant).order_by(StaffUserRow.username)).all()
            return [from_row(StaffUser, r) for r in rows]

    def get_user(self, tenant, user_id=None, username=None) -> StaffUser | None:
        query = select(StaffUserRow).where(StaffUserRow.tenant_id == tenant)
        query = query.where(StaffUserRow.id == user_id) if user_id is not None else query.where(StaffUserRow.username == username)
        with self.session() as s:
            row = s.scalars(query).first()
            return from_row(StaffUser, row) if row else None

    def update_user(self, tenant, user_id, *, password=None, disabled=None, role=None, status=None) -> StaffUser:
        values: dict = {}
        if password is not None:
            values["password_hash"] = hash_password(password)
        if disabled is not None:
            values["disabled"] = disabled
            if disabled:
                values["status"] = "away"
        if role is not None:
            if role not in STAFF_ROLES:
                raise ValueError(f"role must be agent or admin (got {role!r})")
            values["role"] = role
        if status is not None:
            if status not in ("online", "away"):
                raise ValueError(f"status must be online or away (got {status!r})")
            values.update(status=status, last_seen=utcnow())
        with self.session.begin() as s:
            row = s.scalars(select(StaffUserRow).where(StaffUserRow.tenant_id == tenant, StaffUserRow.id == user_id)).first()
            if row is None:
                raise LookupError(f"no staff user {user_id}")
            for key, value in values.items():
                setattr(row, key, value)
            if disabled or password is not None:  # a new password or a disabled account signs out everywhere
                s.execute(delete(StaffSessionRow).where(StaffSessionRow.tenant_id == tenant, StaffSessionRow.user_id == user_id))
            if disabled:
                s.execute(update(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant, ApiKeyRow.user_id == user_id).values(revoked=True))
            return from_row(StaffUser, row)

    def verify_login(self, tenant, username, password) -> StaffUser | None:
        user = self.get_user(tenant, username=username)
        with self.session() as s:
            stored = s.scalar(select(StaffUserRow.password_hash).where(
                StaffUserRow.tenant_id == tenant, StaffUserRow.username == username)) if user else None
        ok = verify_password(stored or DUMMY_HASH, password or "")
        return user if user and ok and not user.disabled else None

    def agents_online(self, tenant, seen_within_s) -> int:
        since = utcnow() - dt.timedelta(seconds=seen_within_s)
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(StaffUserRow).where(
                StaffUserRow.tenant_id == tenant, StaffUserRow.status == "online", StaffUserRow.disabled.is_(False),
                StaffUserRow.last_seen >= since)))

    # -- console sessions -------------------------------------------------------------------
    def create_session(self, tenant, user_id, hours) -> str:
        token = new_token()
        with self.session.begin() as s:
            s.add(StaffSessionRow(token_hash=token_hash(token), tenant_id=tenant, user_id=user_id,
                                  expires_at=utcnow() + dt.timedelta(hours=hours)))
        return token

    def session_user(self, token) -> StaffUser | None:
        with self.session() as s:
            row = s.get(StaffSessionRow, token_hash(token or ""))
            if row is None or aware(row.expires_at) < utcnow():
                return None
            tenant, user_id = row.tenant_id, row.user_id
        return self._seen(tenant, user_id)

    def end_session(self, token) -> None:
        with self.session.begin() as s:
            s.execute(delete(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash(token or "")))

    # -- API keys ---------------------------------------------------------------------------
    def create_api_key(self, tenant, user_id, name="") -> tuple[ApiKey, str]:
        key = new_token("klk_")
        row = ApiKeyRow(tenant_id=tenant, user_id=user_id, name=name[:120], prefix=key[:10], key_hash=token_hash(key),
                        revoked=False)
        with self.session.begin() as s:
            s.add(row)
        return from_row(ApiKey, row), key

    def api_keys(self, tenant) -> list[ApiKey]:
        with self.session() as s:
            rows = s.scalars(select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant).order_by(ApiKeyRow.id)).all()
            return [from_row(ApiKey, r) for r in rows]

    def revoke_api_key(self, tenant, key_id) -> bool:
        with self.session.begin() as s:
            result = s.execute(update(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant, ApiKeyRow.id == key_id,
                                                       ApiKeyRow.revoked.is_(False)).values(revoked=True))
            return result.rowcount == 1

    def api_key_user(self, key) -> StaffUser | None:
        with self.session.begin() as s:
            row = s.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == token_hash(key or ""))).first()
            if row is None or row.revoked:
                return None
            row.last_used = utcnow()
            tenant, user_id = row.tenant_id, row.user_id
        return self._seen(tenant, user_id)

    def _seen(self, tenant, user_id) -> StaffUser | None:
        now = utcnow()
        with self.session.begin() as s:
            row = s.scalars(select(StaffUserRow).where(StaffUserRow.tenant_id == tenant, StaffUserRow.id == user_id)).first()
            if row is None or row.disabled:
                return None
            if row.last_seen is None or (now - aware(row.last_seen)).total_seconds() > SEEN_EVERY_S:
                row.last_seen = now
            return from_row(StaffUser, row)
