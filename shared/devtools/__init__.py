"""The webhook bundle's tools for development: dev secrets, the inspector page and its
activity recorder, and the sample deliveries `runrun send` sends (signed as each provider
signs). runrun reaches them only through the bundle's hooks (`shared.serving`)."""
