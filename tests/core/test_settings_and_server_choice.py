from viewer.core.server_choice import choose_key, choose_server, target_from_name
from viewer.core.settings import Settings, load_settings, save_settings


def test_settings_round_trip_and_recent_tokens(tmp_path):
    path = tmp_path / "s.json"
    s = Settings().with_recent_token("a").with_recent_token("b").with_recent_token("a")
    assert s.recent_user_tokens == ("a", "b")
    save_settings(s, path)
    assert load_settings(path) == s


def test_damaged_settings_fall_back_to_defaults(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"unit_system": "furlongs", "recent_user_tokens": "x", "cache_budget_mb": -3}')
    s = load_settings(path)
    assert s.unit_system == "metric" and s.recent_user_tokens == () and s.cache_budget_mb == 2048
    path.write_text("{not json")
    assert load_settings(path) == Settings()


def test_server_precedence():
    kw = dict(demo=False, base_url=None, env=None, remembered=None, key_available=False)
    assert choose_server(**kw).is_demo
    assert choose_server(**dict(kw, key_available=True)).name == "production"
    assert choose_server(**dict(kw, remembered="sandbox")).name == "sandbox"
    assert choose_server(**dict(kw, remembered="sandbox", env="production")).name == "production"
    assert choose_server(**dict(kw, env="production", base_url="http://x:1/")).base_url == "http://x:1"
    assert choose_server(**dict(kw, base_url="http://x:1", demo=True)).is_demo
    assert target_from_name("sandbox").label == "Sandbox"
    assert target_from_name("http://h:9").label == "http://h:9"


def test_key_precedence():
    prod = target_from_name("production")
    ring = {"scan-viewer:production": "from-ring"}
    get = ring.get
    assert choose_key(prod, api_key_env="MY", environ={"MY": "k1", "PRISM_API_KEY": "k2"}, keyring_get=get).key == "k1"
    assert choose_key(prod, api_key_env=None, environ={"PRISM_API_KEY": "k2"}, keyring_get=get).key == "k2"
    assert choose_key(prod, api_key_env=None, environ={}, keyring_get=get).source == "keyring"
    assert choose_key(target_from_name("sandbox"), api_key_env=None, environ={}, keyring_get=get).key is None
    assert choose_key(target_from_name("demo"), api_key_env=None, environ={"PRISM_API_KEY": "k"},
                      keyring_get=get).source == "demo"
