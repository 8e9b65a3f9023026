# A Windows service by display name or service name.
# Prints { "services": [ { name, display_name, status, start_type } ] }.
param([string]$Service)

$list = @(Get-Service | Where-Object { $_.DisplayName -eq $Service -or $_.Name -eq $Service } |
  ForEach-Object {
    $start = (Get-CimInstance -ClassName Win32_Service -Filter "Name='$($_.Name)'").StartMode
    [pscustomobject]@{ name = $_.Name; display_name = $_.DisplayName; status = "$($_.Status)"; start_type = "$start" }
  })
[pscustomobject]@{ services = $list } | ConvertTo-Json -Compress -Depth 4
