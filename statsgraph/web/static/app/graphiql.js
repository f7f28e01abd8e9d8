"use strict";(()=>{var r=[{name:"AdminDashboard",document:`# The admin home page: all-time stat cards with today's change against yesterday, this month's
# cost and cache panels, system health, key and user counts, and the last week's table and charts.
query AdminDashboard {
  dashboardStats {
    allTime {
      requests
      successRequests
      errorRequests
      cost
      actualCost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
    }
    today {
      requests
      cost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
    }
    yesterday {
      requests
      cost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
    }
    month {
      cost
      actualCost
      costSavings
      cacheCreationTokens
      cacheReadTokens
      cacheCreationCost
      cacheReadCost
      totalTokens
    }
    systemHealth {
      avgResponseTime
      errorRate
      errorRequests
      fallbackCount
      totalRequests
    }
    apiKeys {
      total
      active
    }
    users {
      total
      active
    }
  }
  dailyStats(days: 7) {
    days {
      date
      requests
      totalTokens
      cost
      avgResponseTime
      uniqueModels
      uniqueProviders
      modelBreakdown {
        model
        cost
      }
    }
  }
}
`},{name:"Analytics",document:`# The analytics page: a range, a granularity and a breakdown chosen by the operator; the cards
# show the range's totals, the chart one series per top group and bucket, the table the groups.
query Analytics(
  $range: TimeRange!
  $granularity: Granularity
  $groupBy: [Dimension!]! = []
  $filter: UsageFilter
  $timeZone: String
  $orderBy: UsageOrder! = COST_DESC
  $limit: Int! = 10
  $userId: ID
) {
  usage(
    range: $range
    granularity: $granularity
    groupBy: $groupBy
    filter: $filter
    timeZone: $timeZone
    orderBy: $orderBy
    limit: $limit
    userId: $userId
  ) {
    from
    to
    timeZone
    granularity
    totals {
      requests
      errorRequests
      errorRate
      totalTokens
      cacheHitRate
      cost
      responseTime {
        count
        mean
        p50
        p99
      }
      firstByteTime {
        p50
        p99
      }
    }
    groups {
      isOther
      key {
        model
        provider {
          id
          displayName
        }
        apiKey {
          id
          name
        }
        user {
          id
          username
        }
        apiFormat
        isStream
        outcome
        statusCode
      }
      measures {
        requests
        errorRequests
        totalTokens
        cost
        responseTime {
          p50
          p99
        }
      }
    }
    buckets {
      start
      end
      totals {
        requests
        cost
      }
      groups {
        isOther
        key {
          model
          provider {
            id
          }
          apiKey {
            id
          }
          user {
            id
          }
          apiFormat
          isStream
          outcome
          statusCode
        }
        measures {
          requests
          cost
        }
      }
    }
  }
}
`},{name:"DailyChart",document:`# The usage chart with its 7/30/90-day range picker, the per-model daily cost chart and the
# per-model table under them.
query DailyChart($days: Int!) {
  dailyStats(days: $days) {
    period {
      startDate
      endDate
      days
    }
    days {
      date
      requests
      totalTokens
      cost
      avgResponseTime
      modelBreakdown {
        model
        cost
      }
    }
    modelSummary {
      model
      requests
      totalTokens
      cost
      avgResponseTime
      costPerRequest
      tokensPerRequest
    }
  }
}
`},{name:"ProviderHealth",document:`# The provider panel: active providers and their last-24-hour traffic in the viewer's scope.
query ProviderHealth {
  providerStatus {
    id
    name
    displayName
    state
    requests
  }
}
`},{name:"RecentActivity",document:`# The recent-requests list; the server scopes it to the viewer.
query RecentActivity($limit: Int! = 10) {
  recentRequests(limit: $limit) {
    id
    requestId
    createdAt
    model
    isStream
    statusCode
    totalTokens
    cost
    user {
      id
      username
    }
    provider {
      id
      displayName
    }
  }
}
`},{name:"UserDashboard",document:`# A user's home page: their keys, this month's requests, cache and spend, today's figures (with
# the request count compared to yesterday), their quota, token breakdown and the last week's table.
query UserDashboard {
  dashboardStats {
    apiKeys {
      total
      active
    }
    month {
      requests
      cacheCreationTokens
      cacheReadTokens
      cacheHitRate
      cost
    }
    today {
      requests
      cost
      totalTokens
      cacheCreationTokens
      cacheReadTokens
    }
    yesterday {
      requests
    }
    quota {
      limitUsd
      usedUsd
      usedPercent
    }
    allTime {
      inputTokens
      outputTokens
      cacheCreationTokens
      cacheReadTokens
      totalTokens
    }
  }
  dailyStats(days: 7) {
    days {
      date
      requests
      totalTokens
      cost
      avgResponseTime
      modelBreakdown {
        model
        cost
      }
    }
  }
}
`},{name:"Viewer",document:`# Who the token belongs to: the dashboard picks the admin or the user page from the role.
query Viewer {
  viewer {
    id
    username
    role
  }
}
`}];var a="statsgraph.token";function o(){try{return sessionStorage.getItem(a)??""}catch{return""}}function i(n){try{n?sessionStorage.setItem(a,n):sessionStorage.removeItem(a)}catch{}}var c={DailyChart:{days:30}},e=document.getElementById("token");e.value=o();e.addEventListener("input",()=>i(e.value.trim()));async function l(n,u){let t={"Content-Type":"application/json",Accept:"application/json"},s=e.value.trim();return s&&(t.Authorization=`Bearer ${s}`),Object.assign(t,u?.headers??{}),(await fetch("/graphql",{method:"POST",headers:t,body:JSON.stringify(n),credentials:"same-origin"})).json()}var m=r.map(n=>({query:n.document,variables:c[n.name]?JSON.stringify(c[n.name],null,2):void 0})),d=document.getElementById("graphiql");d&&ReactDOM.createRoot(d).render(React.createElement(GraphiQL,{fetcher:l,defaultTabs:m,defaultEditorToolsVisibility:!0,shouldPersistHeaders:!1,isHeadersEditorEnabled:!0}));})();
