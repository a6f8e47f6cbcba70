"""A plugin whose import fails: never loaded unless enabled."""

raise RuntimeError("this plugin must not be imported when it is not enabled")
