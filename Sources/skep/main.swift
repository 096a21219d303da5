import Skep

// The stock server: Skep's built-in modules only. An embedding program's main.swift
// looks the same with its own modules passed in (see Examples/).
Server().run()
