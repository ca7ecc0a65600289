"""A tiny Mixpeek App used by the README's Quickstart."""


def handler(event: dict) -> dict:
    name = event.get("name", "world")
    return {"greeting": f"hello, {name}"}


if __name__ == "__main__":
    print(handler({"name": "Mixpeek"}))
