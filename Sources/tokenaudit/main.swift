print("tokenaudit: under construction")
