# AD FS authentication providers, and those enabled as additional (multi-factor) methods.
# Prints { "providers": [ name ], "additional": [ name ] }.
param()

$providers = @(Get-AdfsAuthenticationProvider | ForEach-Object { $_.Name })
$additional = @((Get-AdfsGlobalAuthenticationPolicy).AdditionalAuthenticationProvider | Where-Object { $_ })
[pscustomobject]@{ providers = $providers; additional = $additional } | ConvertTo-Json -Compress -Depth 4
