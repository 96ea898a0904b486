import { runPython } from './specter.js';

/**
 * users.json changed the way Specter changes it, by Python and pyca/cryptography as Specter's
 * user.py does (PBKDF2 login hash, a Fernet secret wrapped under PBKDF2-SHA256 at 390000
 * iterations with a fresh salt) and saved as persistence.py saves it: the file renamed to `.bkp`,
 * then written anew with json.dump(indent=4). Nothing here goes through the daemon's own code.
 */
export type SpecterEdit =
  /** UserManager.create_user: a new user, with their secret made at once. */
  | { op: 'add'; username: string; password: string }
  /** user.set_password: the same secret re-wrapped under the new password, a new hash. */
  | { op: 'passwd'; username: string; old: string; new: string }
  /** UserManager.delete_user. */
  | { op: 'delete'; username: string }
  /** user.delete_user_secret: encrypted_user_secret set to null. */
  | { op: 'drop-secret'; username: string }
  /** A different secret wrapped under the same password (a restored or hand-made record). */
  | { op: 'replace-secret'; username: string; password: string }
  /** RaspiBlitz's rpcpasswordaspin: the secret wrapped under `wrap`, the login hash of `hash`. */
  | { op: 'aspin'; username: string; wrap: string; hash: string };

/** Applies the edits in order, one Specter save each. Returns each edit's new secret (urlsafe base64) or null. */
export function specterEdit(dataDir: string, ...edits: SpecterEdit[]): Array<string | null> {
  return runPython<{ secrets: Array<string | null> }>(EDIT, { dir: dataDir, edits }).secrets;
}

const EDIT = String.raw`
import base64, binascii, copy, hashlib, json, os, sys
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

a = json.load(sys.stdin)
path = os.path.join(a["dir"], "users.json")

def hash_password(pw):
    salt = binascii.b2a_base64(hashlib.sha256(os.urandom(60)).digest()).strip()
    pwdhash = binascii.b2a_base64(hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), salt, 10000)).strip().decode()
    return {"salt": salt.decode(), "pwdhash": pwdhash}

def kek(pw, salt, iterations):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return base64.urlsafe_b64encode(kdf.derive(pw.encode()))

def wrap(secret, pw):
    salt = os.urandom(16)
    token = Fernet(kek(pw, salt, 390000)).encrypt(secret).decode()
    return {"token": token, "salt": base64.b64encode(salt).decode(), "iterations": 390000}

def unwrap(record, pw):
    return Fernet(kek(pw, base64.b64decode(record["salt"]), record["iterations"])).decrypt(record["token"].encode())

def save(users):
    bkp = path + ".bkp"
    if os.path.isfile(path):
        if os.path.isfile(bkp):
            os.remove(bkp)
        os.rename(path, bkp)
    with open(path, "w") as f:
        json.dump(users, f, indent=4)

def find(users, name):
    return next(u for u in users if u["username"] == name)

secrets = []
for e in a["edits"]:
    users = json.load(open(path))
    op, name, made = e["op"], e["username"], None
    if op in ("add", "aspin"):
        user = copy.deepcopy(next(u for u in users if not u["is_admin"]))
        user.update({"id": name.lower(), "username": name, "jwt_tokens": {}, "services": []})
        made = Fernet.generate_key()
        user["password"] = hash_password(e["password"] if op == "add" else e["hash"])
        user["encrypted_user_secret"] = wrap(made, e["password"] if op == "add" else e["wrap"])
        users.append(user)
    elif op == "passwd":
        user = find(users, name)
        user["encrypted_user_secret"] = wrap(unwrap(user["encrypted_user_secret"], e["old"]), e["new"])
        user["password"] = hash_password(e["new"])
    elif op == "delete":
        users = [u for u in users if u["username"] != name]
    elif op == "drop-secret":
        find(users, name)["encrypted_user_secret"] = None
    elif op == "replace-secret":
        made = Fernet.generate_key()
        find(users, name)["encrypted_user_secret"] = wrap(made, e["password"])
    save(users)
    secrets.append(made.decode() if made else None)
print(json.dumps({"secrets": secrets}))
`;
